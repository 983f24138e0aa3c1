package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"github.com/spf13/viper"

	"github.com/truyxuat/truyxuat/label"
)

// Config is every setting of truyxuat. Each has a default (defaults
// below), can be set in the config file, overridden by a TRUYXUAT_*
// environment variable (key upper-cased: public_url → TRUYXUAT_PUBLIC_URL)
// and then by a flag. config.example.yaml documents them all.
type Config struct {
	Data string `mapstructure:"data"`
	// PostgreSQL instead of the embedded file (serve, demo,
	// migrate-schema): its URL, and the master key file every node holds.
	DatabaseURL     string        `mapstructure:"database_url"`
	MasterKeyFile   string        `mapstructure:"master_key_file"`
	Addr            string        `mapstructure:"addr"`
	PublicURL       string        `mapstructure:"public_url"`
	LogLevel        string        `mapstructure:"log_level"`
	LogFormat       string        `mapstructure:"log_format"`
	BodyLimit       int64         `mapstructure:"body_limit"`
	RequestTimeout  time.Duration `mapstructure:"request_timeout"`
	ShutdownTimeout time.Duration `mapstructure:"shutdown_timeout"`
	Server          string        `mapstructure:"server"`
	Key             string        `mapstructure:"key"`

	// The transparency log (serve).
	LogOrigin          string        `mapstructure:"log_origin"`
	CheckpointInterval time.Duration `mapstructure:"checkpoint_interval"`
	WitnessPolicy      string        `mapstructure:"witness_policy"`
	Witnesses          []string      `mapstructure:"witnesses"`
	// Checking the log (verify, audit, witness).
	LogKeys    []string `mapstructure:"log_keys"`
	Trust      string   `mapstructure:"trust"`
	AuditState string   `mapstructure:"audit_state"`
	Lang       string   `mapstructure:"lang"`
	// Running a witness (witness).
	WitnessAddr string `mapstructure:"witness_addr"`
	WitnessName string `mapstructure:"witness_name"`

	AttachmentLimit      int64  `mapstructure:"attachment_limit"`
	LabelErrorCorrection string `mapstructure:"label_error_correction"`
	LabelLayouts         string `mapstructure:"label_layouts"`

	// Behind a reverse proxy (serve): the header that names the client's
	// address, believed only from the proxies' addresses.
	TrustedProxyHeader string   `mapstructure:"trusted_proxy_header"`
	TrustedProxies     []string `mapstructure:"trusted_proxies"`
}

// defaults lists every key with its default. Every key must be here: viper
// only maps environment variables onto keys it knows.
var defaults = map[string]any{
	"data":             "./data",
	"database_url":     "",
	"master_key_file":  "",
	"addr":             "127.0.0.1:8080",
	"public_url":       "",
	"log_level":        "info",
	"log_format":       "text",
	"body_limit":       int64(1 << 20),
	"request_timeout":  30 * time.Second,
	"shutdown_timeout": 15 * time.Second,
	"server":           "http://127.0.0.1:8080",
	"key":              "",

	"log_origin":          "",
	"checkpoint_interval": time.Second,
	"witness_policy":      "",
	"witnesses":           []string{},
	"log_keys":            []string{},
	"trust":               "",
	"audit_state":         "",
	"lang":                "vi",
	"witness_addr":        "127.0.0.1:8081",
	"witness_name":        "",

	"attachment_limit":       int64(10 << 20),
	"label_error_correction": "M",
	"label_layouts":          "",

	"trusted_proxy_header": "",
	"trusted_proxies":      []string{"127.0.0.0/8", "::1/128"},
}

// flagNames maps config keys to flag names where they differ.
var flagNames = map[string]string{
	"database_url":     "database-url",
	"master_key_file":  "master-key-file",
	"public_url":       "public-url",
	"log_level":        "log-level",
	"log_format":       "log-format",
	"body_limit":       "body-limit",
	"request_timeout":  "request-timeout",
	"shutdown_timeout": "shutdown-timeout",

	"log_origin":          "log-origin",
	"checkpoint_interval": "checkpoint-interval",
	"witness_policy":      "witness-policy",
	"witnesses":           "witness",
	"log_keys":            "log-key",
	"audit_state":         "state",
	"witness_addr":        "listen",
	"witness_name":        "name",

	"attachment_limit":       "attachment-limit",
	"label_error_correction": "label-ec",
	"label_layouts":          "label-layouts",

	"trusted_proxy_header": "trusted-proxy-header",
	"trusted_proxies":      "trusted-proxy",
}

func flagName(key string) string {
	if f, ok := flagNames[key]; ok {
		return f
	}
	return key
}

// notConfig annotates a flag that shares a setting's name but means
// something of its own command's (label --lang, a label's second language,
// is not the report language lang): loadConfig leaves it unbound.
const notConfig = "truyxuat/not-config"

// loadConfig reads defaults, the config file (--config or
// TRUYXUAT_CONFIG, else ./truyxuat.yaml if present), the environment and
// the command's flags, in that order of precedence (lowest first).
func loadConfig(cmd *cobra.Command) (*Config, error) {
	v := viper.New()
	for k, d := range defaults {
		v.SetDefault(k, d)
	}
	v.SetEnvPrefix("TRUYXUAT")
	v.SetEnvKeyReplacer(strings.NewReplacer("-", "_", ".", "_"))
	v.AutomaticEnv()

	file, _ := cmd.Flags().GetString("config")
	if file == "" {
		file = os.Getenv("TRUYXUAT_CONFIG")
	}
	if file == "" {
		if _, err := os.Stat("truyxuat.yaml"); err == nil {
			file = "truyxuat.yaml"
		}
	}
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			return nil, fmt.Errorf("config file %s: %w", file, err)
		}
	}
	if err := checkKeys(v); err != nil {
		return nil, err
	}
	var bindErr error
	cmd.Flags().VisitAll(func(f *pflag.Flag) {
		if _, own := f.Annotations[notConfig]; own {
			return
		}
		for k := range defaults {
			if flagName(k) == f.Name {
				if err := v.BindPFlag(k, f); err != nil {
					bindErr = err
				}
			}
		}
	})
	if bindErr != nil {
		return nil, bindErr
	}
	var c Config
	if err := v.Unmarshal(&c); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return &c, c.validate()
}

// checkKeys refuses unknown keys in the config file, which are usually typos.
func checkKeys(v *viper.Viper) error {
	for _, k := range v.AllKeys() {
		if _, ok := defaults[k]; !ok && k != "config" {
			if v.InConfig(k) {
				return fmt.Errorf("config file %s: unknown setting %q (see config.example.yaml)", v.ConfigFileUsed(), k)
			}
		}
	}
	return nil
}

func (c *Config) validate() error {
	if c.Data == "" {
		return errors.New("config: data must name a directory")
	}
	if c.usesPostgres() {
		u, err := url.Parse(c.DatabaseURL)
		if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") || u.Host == "" {
			return fmt.Errorf("config: database_url must be a PostgreSQL URL such as postgres://truyxuat@db.example.vn/truyxuat, got %s", redactURL(c.DatabaseURL))
		}
	}
	if c.PublicURL != "" {
		u, err := url.Parse(c.PublicURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return fmt.Errorf("config: public_url %q must be a base URL such as https://trace.example.vn", c.PublicURL)
		}
		c.PublicURL = strings.TrimRight(c.PublicURL, "/")
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return fmt.Errorf("config: log_level %q must be debug, info, warn or error", c.LogLevel)
	}
	switch c.LogFormat {
	case "text", "json":
	default:
		return fmt.Errorf("config: log_format %q must be text or json", c.LogFormat)
	}
	if c.BodyLimit < 1024 || c.BodyLimit > 64<<20 {
		return fmt.Errorf("config: body_limit %d must be between 1024 and 67108864 bytes", c.BodyLimit)
	}
	if c.AttachmentLimit < 1024 || c.AttachmentLimit > 100<<20 {
		return fmt.Errorf("config: attachment_limit %d must be between 1024 and 104857600 bytes", c.AttachmentLimit)
	}
	switch strings.ToUpper(c.LabelErrorCorrection) {
	case "L", "M", "Q", "H":
		c.LabelErrorCorrection = strings.ToUpper(c.LabelErrorCorrection)
	default:
		return fmt.Errorf("config: label_error_correction %q must be L, M, Q or H", c.LabelErrorCorrection)
	}
	if c.RequestTimeout <= 0 || c.ShutdownTimeout <= 0 {
		return errors.New("config: request_timeout and shutdown_timeout must be positive durations such as 30s")
	}
	if err := c.validateProxy(); err != nil {
		return err
	}
	return c.validateLog()
}

// validateProxy checks the reverse-proxy settings and writes them in one
// form: the header's canonical name, the proxies as address prefixes
// (a bare address is a /32 or /128).
func (c *Config) validateProxy() error {
	switch h := http.CanonicalHeaderKey(strings.TrimSpace(c.TrustedProxyHeader)); h {
	case "", "X-Forwarded-For", "X-Real-Ip":
		if h == "X-Real-Ip" {
			h = "X-Real-IP"
		}
		c.TrustedProxyHeader = h
	default:
		return fmt.Errorf("config: trusted_proxy_header %q must be X-Forwarded-For, X-Real-IP or empty", c.TrustedProxyHeader)
	}
	c.TrustedProxies = splitList(c.TrustedProxies)
	for i, p := range c.TrustedProxies {
		prefix, err := netip.ParsePrefix(p)
		if err != nil {
			addr, aerr := netip.ParseAddr(p)
			if aerr != nil {
				return fmt.Errorf("config: trusted_proxies: %q is not an address or a range such as 10.0.0.0/8", p)
			}
			prefix = netip.PrefixFrom(addr, addr.BitLen())
		}
		c.TrustedProxies[i] = prefix.Masked().String()
	}
	return nil
}

// trustedProxies are the validated trusted_proxies.
func (c *Config) trustedProxies() []netip.Prefix {
	var out []netip.Prefix
	for _, p := range c.TrustedProxies {
		if prefix, err := netip.ParsePrefix(p); err == nil {
			out = append(out, prefix)
		}
	}
	return out
}

// publicURL is the configured public base URL, or one derived from the
// listen address for a local run.
func (c *Config) publicURL(listenAddr string) string {
	if c.PublicURL != "" {
		return c.PublicURL
	}
	return "http://" + listenAddr
}

// LabelLayouts is the file of custom label layouts (label_layouts): JSON
// with the sheets and rolls a cooperative's label stock needs beside the
// presets, in millimetres, for example
//
//	{"sheets": [{"name": "tanex-3x8", "columns": 3, "rows": 8,
//	  "label_width_mm": 70, "label_height_mm": 37}],
//	 "rolls": [{"name": "roll-60x40", "width_mm": 60, "height_mm": 40}]}
type LabelLayouts struct {
	Sheets []label.SheetLayout `json:"sheets"`
	Rolls  []label.RollLayout  `json:"rolls"`
}

// labelLayouts reads and checks the custom layouts file, if one is set.
func (c *Config) labelLayouts() (*LabelLayouts, error) {
	var l LabelLayouts
	if c.LabelLayouts == "" {
		return &l, nil
	}
	b, err := os.ReadFile(c.LabelLayouts)
	if err != nil {
		return nil, fmt.Errorf("label_layouts: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&l); err != nil {
		return nil, fmt.Errorf("label_layouts %s: %w", c.LabelLayouts, err)
	}
	for i, sl := range l.Sheets {
		if err := sl.Validate(); err != nil {
			return nil, fmt.Errorf("label_layouts %s: sheets[%d] (%s): %w", c.LabelLayouts, i, sl.Name, err)
		}
	}
	for i, rl := range l.Rolls {
		if err := rl.Validate(203); err != nil {
			return nil, fmt.Errorf("label_layouts %s: rolls[%d] (%s): %w", c.LabelLayouts, i, rl.Name, err)
		}
	}
	return &l, nil
}
