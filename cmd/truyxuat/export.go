package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"
)

// exportPage is one page of GET /api/v1/epcis/events, with its events
// kept as the server wrote them.
type exportPage struct {
	Context       json.RawMessage `json:"@context"`
	Type          string          `json:"type"`
	SchemaVersion string          `json:"schemaVersion"`
	CreationDate  string          `json:"creationDate"`
	Checkpoint    string          `json:"tx:checkpoint,omitempty"`
	Next          string          `json:"tx:next,omitempty"`
	EPCISBody     struct {
		EventList []json.RawMessage `json:"eventList"`
	} `json:"epcisBody"`
}

func newExportCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "export [--batch ID] [--cooperative ID] [--from TIME] [--to TIME] [-o FILE]",
		Short: "Export signed events as one EPCIS 2.0 JSON-LD document",
		Long: `Export the events of a batch, a cooperative, a time range or any combination
from a running server as one EPCIS 2.0 JSON-LD document, fetching every page of
GET /api/v1/epcis/events. Times are RFC 3339 (2025-08-01T00:00:00+07:00); from
is inclusive, to exclusive. Each event carries its signed bytes, signature,
signer and transparency-log proof in the tx: namespace, against the document's
tx:checkpoint, so it can be verified on its own.

The document goes to standard output, or with -o to a file that is written
only once the whole export has arrived.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			q := url.Values{}
			for _, name := range []string{"batch", "cooperative", "from", "to"} {
				v, _ := cmd.Flags().GetString(name)
				if v == "" {
					continue
				}
				if name == "from" || name == "to" {
					if _, err := time.Parse(time.RFC3339Nano, v); err != nil {
						return fmt.Errorf("%w: --%s %q is not an RFC 3339 time such as 2025-08-01T00:00:00+07:00", errUsage, name, v)
					}
				}
				q.Set(name, v)
			}
			if n, _ := cmd.Flags().GetInt("page-size"); n != 0 {
				q.Set("limit", fmt.Sprint(n))
			}
			out, _ := cmd.Flags().GetString("output")
			if out == "" || out == "-" {
				n, err := exportTo(cmd.OutOrStdout(), newClient(cfg), "/api/v1/epcis/events?"+q.Encode())
				if err == nil {
					fmt.Fprintf(cmd.ErrOrStderr(), "%d events exported\n", n)
				}
				return err
			}
			return exportFile(cmd, newClient(cfg), "/api/v1/epcis/events?"+q.Encode(), out)
		},
	}
	addClientFlags(cmd)
	cmd.Flags().String("batch", "", "only this batch (id)")
	cmd.Flags().String("cooperative", "", "only this cooperative's batches (id)")
	cmd.Flags().String("from", "", "only events at or after this RFC 3339 time")
	cmd.Flags().String("to", "", "only events before this RFC 3339 time")
	cmd.Flags().Int("page-size", 0, "events per request (1 to 2000; default: the server's)")
	cmd.Flags().StringP("output", "o", "", "write the document to this file instead of standard output")
	return cmd
}

// exportFile writes the export next to path and renames it into place once
// it is complete, so a failed export leaves no half document.
func exportFile(cmd *cobra.Command, c *client, path, out string) error {
	tmp, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	n, err := exportTo(tmp, c, path)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), out); err != nil {
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "%d events exported to %s\n", n, out)
	return nil
}

// exportTo follows the pages of an export from path and writes them to w
// as one document, one event per line. Every page of one export carries
// the first page's checkpoint; a page that does not is refused.
func exportTo(w io.Writer, c *client, path string) (int, error) {
	var first *exportPage
	events := 0
	seen := map[string]bool{}
	for path != "" {
		if seen[path] {
			return events, fmt.Errorf("the server sent page %s twice", path)
		}
		seen[path] = true
		var page exportPage
		if err := c.do("GET", path, nil, &page); err != nil {
			return events, err
		}
		if page.Type != "EPCISDocument" {
			return events, fmt.Errorf("GET %s: not an EPCIS document", path)
		}
		if first == nil {
			first = &page
			head, err := exportHeader(&page)
			if err != nil {
				return events, err
			}
			if _, err := w.Write(head); err != nil {
				return events, err
			}
		} else if page.Checkpoint != first.Checkpoint {
			return events, errors.New("the pages of the export carry different checkpoints; export again")
		}
		for _, ev := range page.EPCISBody.EventList {
			sep := ",\n"
			if events == 0 {
				sep = "\n"
			}
			var compact bytes.Buffer
			if err := json.Compact(&compact, ev); err != nil {
				return events, err
			}
			if _, err := io.WriteString(w, sep+compact.String()); err != nil {
				return events, err
			}
			events++
		}
		path = page.Next
	}
	_, err := io.WriteString(w, "\n]}}\n")
	return events, err
}

// exportHeader writes the document's members up to the start of its
// event list.
func exportHeader(p *exportPage) ([]byte, error) {
	head := struct {
		Context       json.RawMessage `json:"@context"`
		Type          string          `json:"type"`
		SchemaVersion string          `json:"schemaVersion"`
		CreationDate  string          `json:"creationDate"`
		Checkpoint    string          `json:"tx:checkpoint,omitempty"`
	}{p.Context, p.Type, p.SchemaVersion, p.CreationDate, p.Checkpoint}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(head); err != nil {
		return nil, err
	}
	out := bytes.TrimSuffix(bytes.TrimSuffix(b.Bytes(), []byte("\n")), []byte("}"))
	return append(out, `,"epcisBody":{"eventList":[`...), nil
}
