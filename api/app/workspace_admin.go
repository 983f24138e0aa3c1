package app

import (
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/adminunits"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// The admin's screen: cooperatives, inspectors, people and their roles,
// API keys, and the state of the transparency log and its witnesses.

type userRow struct {
	*store.User
	Sessions int
}

type logStatus struct {
	ReadOnly             string // why the service records nothing, if it does not
	Size, CheckpointSize uint64
	Checkpoint           string
	Signatures, Cosigned int
	Witnesses            []string
	Quorum               string
}

func (s *Workspace) adminData(c echo.Context, p *appPage) error {
	coops, err := s.db.Cooperatives()
	if err != nil {
		return err
	}
	ins, err := s.db.Inspectors()
	if err != nil {
		return err
	}
	users, err := s.db.Users()
	if err != nil {
		return err
	}
	counts, err := s.db.SessionCounts()
	if err != nil {
		return err
	}
	var rows []userRow
	for _, u := range users {
		rows = append(rows, userRow{User: u, Sessions: counts[u.Username]})
	}
	keys, err := s.db.APIKeys("")
	if err != nil {
		return err
	}
	var st logStatus
	if ro := s.db.ReadOnly(); ro != nil {
		st.ReadOnly = ro.Reason + ". " + ro.Remedy + "."
	}
	err = s.db.ViewLog(func(v store.LogView) error {
		st.Size = v.Size()
		size, note := s.api.PublishedCheckpoint(v)
		if note != nil {
			st.CheckpointSize = size
			if n, err := tlog.ParseNote(note); err == nil {
				st.Checkpoint = n.Text
				st.Signatures = len(n.Sigs)
				st.Cosigned = max(0, len(n.Sigs)-2)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if pol := s.api.WitnessPolicy(); pol != nil {
		st.Quorum = pol.Quorum
		for _, w := range pol.Witnesses {
			st.Witnesses = append(st.Witnesses, w.Name+" "+w.URL)
		}
	}
	coopNames, inspectorNames := map[string]string{}, map[string]string{}
	for _, co := range coops {
		coopNames[co.ID] = co.Name
	}
	for _, in := range ins {
		inspectorNames[in.ID] = in.Name
	}
	p.Data = map[string]any{"Cooperatives": coops, "Inspectors": ins, "Users": rows, "Keys": keys, "Log": st,
		"Roles": []store.Role{store.RoleCooperative, store.RoleInspector, store.RoleAdmin, store.RoleAgency}, "RoleOptions": roleOptions(p.Cat),
		"CoopNames": coopNames, "InspectorNames": inspectorNames, "Provinces": adminunits.VN().Provinces}
	return nil
}

func (s *Workspace) appAdmin(c echo.Context) error {
	p := s.appPage(c, "", "admin")
	return s.adminRender(c, p, http.StatusOK)
}

func (s *Workspace) adminRender(c echo.Context, p *appPage, status int) error {
	p.Title = p.Cat.Messages["app_admin_title"]
	if err := s.adminData(c, p); err != nil {
		return err
	}
	return s.appRender(c, status, "app_admin", p)
}

// adminForm reads the named fields into a new page's form.
func (s *Workspace) adminForm(c echo.Context, fields ...string) *appPage {
	p := s.appPage(c, "", "admin")
	for _, f := range fields {
		p.Form.Values[f] = strings.TrimSpace(c.FormValue(f))
	}
	p.Form.Values["form"] = c.Path()
	return p
}

// adminDone redirects after success or shows the form's errors.
func (s *Workspace) adminDone(c echo.Context, p *appPage, err error, ok string, mapField func(string) string) error {
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/app/admin?ok="+ok)
	}
	if !p.Form.fieldErrors(p.Cat, err, mapField) {
		if errors.Is(err, trace.ErrConflict) || errors.Is(err, trace.ErrNotFound) {
			p.Form.Error = localReason(p.Cat, err.Error())
		} else {
			return err
		}
	}
	return s.adminRender(c, p, http.StatusUnprocessableEntity)
}

func same(f string) string { return f }

func (s *Workspace) appAdminCooperative(c echo.Context) error {
	p := s.adminForm(c, "c_name", "c_province", "c_gln")
	f := p.Form.Values
	coop := &trace.Cooperative{Name: f["c_name"], Province: f["c_province"], GLN: f["c_gln"]}
	err := s.db.CreateCooperative(coop)
	if err == nil {
		_, err = s.api.SignerFor(coop)
	}
	return s.adminDone(c, p, err, "cooperative", func(f string) string {
		switch f {
		case "name", "province", "gln":
			return "c_" + f
		}
		return ""
	})
}

func (s *Workspace) appAdminInspector(c echo.Context) error {
	p := s.adminForm(c, "i_name", "i_agency")
	in := &trace.Inspector{Name: p.Form.Values["i_name"], Agency: p.Form.Values["i_agency"]}
	err := s.db.CreateInspector(in)
	if err == nil {
		_, err = s.api.InspectorSigner(in)
	}
	return s.adminDone(c, p, err, "inspector", func(f string) string {
		switch f {
		case "name", "agency":
			return "i_" + f
		}
		return ""
	})
}

func (s *Workspace) appAdminUser(c echo.Context) error {
	p := s.adminForm(c, "u_username", "u_name", "u_role", "u_cooperative", "u_inspector", "u_province")
	f := p.Form.Values
	u := &store.User{Username: f["u_username"], Name: f["u_name"], Role: store.Role(f["u_role"]),
		CooperativeID: f["u_cooperative"], InspectorID: f["u_inspector"], Province: f["u_province"]}
	err := s.db.CreateUser(u, c.FormValue("u_password"))
	return s.adminDone(c, p, err, "user", func(f string) string {
		switch f {
		case "username", "name", "role", "password":
			return "u_" + f
		case "cooperative_id":
			return "u_cooperative"
		case "inspector_id":
			return "u_inspector"
		case "province":
			return "u_province"
		}
		return ""
	})
}

func (s *Workspace) appAdminRevokeSessions(c echo.Context) error {
	if _, err := s.db.RevokeSessions(c.Param("username")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/app/admin?ok=revoked")
}

func (s *Workspace) appAdminDisable(c echo.Context) error {
	name := c.Param("username")
	if name == appUser(c).Username {
		return &trace.FieldError{Field: "username", Reason: "you cannot disable your own account"}
	}
	if err := s.db.SetUserDisabled(name, c.FormValue("enable") == ""); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/app/admin?ok=user")
}

func (s *Workspace) appAdminKey(c echo.Context) error {
	p := s.adminForm(c, "k_name", "k_role", "k_cooperative", "k_inspector")
	f := p.Form.Values
	k := &store.APIKey{Name: f["k_name"], Role: store.Role(f["k_role"]), CooperativeID: f["k_cooperative"], InspectorID: f["k_inspector"]}
	var err error
	if strings.TrimSpace(k.Name) == "" {
		err = &trace.FieldError{Field: "name", Reason: "name the person or device the key is for; it is required"}
	}
	secret := ""
	if err == nil {
		secret, err = s.db.CreateAPIKey(k)
	}
	if err != nil {
		return s.adminDone(c, p, err, "key", func(f string) string {
			switch f {
			case "name", "role":
				return "k_" + f
			case "cooperative_id":
				return "k_cooperative"
			}
			return ""
		})
	}
	// The secret is shown this once, on this page.
	p.Flash = p.Cat.Messages["app_flash_key"]
	p.Form = newForm()
	if err := s.adminData(c, p); err != nil {
		return err
	}
	p.Title = p.Cat.Messages["app_admin_title"]
	p.Data.(map[string]any)["NewKey"] = map[string]string{"ID": k.ID, "Secret": secret}
	return s.appRender(c, http.StatusCreated, "app_admin", p)
}

func (s *Workspace) appAdminRevokeKey(c echo.Context) error {
	if _, err := s.db.RevokeAPIKey(c.Param("id")); err != nil {
		return err
	}
	return c.Redirect(http.StatusSeeOther, "/app/admin?ok=key_revoked")
}
