package app

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// A cooperative's products, created and edited in the workspace (each
// change signed as the next revision of the product's record); a
// person's own password; the admin's password resets and the
// cooperatives' profiles.

// roleName says a role in the page's language.
func roleName(cat *api.Catalog, r store.Role) string {
	if n := cat.Messages["app_role_"+string(r)]; n != "" {
		return n
	}
	return string(r)
}

// roleOptions are the roles as a select offers them.
func roleOptions(cat *api.Catalog) []appOption {
	var out []appOption
	for _, r := range []store.Role{store.RoleCooperative, store.RoleInspector, store.RoleAdmin, store.RoleAgency} {
		out = append(out, appOption{string(r), roleName(cat, r)})
	}
	return out
}

// productsCooperative is whose products the page shows: the person's
// cooperative, or the one an admin chose.
func (s *Workspace) productsCooperative(c echo.Context) (*trace.Cooperative, []*trace.Cooperative, error) {
	u := appUser(c)
	id := u.CooperativeID
	coops, err := s.db.Cooperatives()
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(coops, func(i, j int) bool { return coops[i].Name < coops[j].Name })
	if u.Role == store.RoleAdmin {
		id = c.QueryParam("cooperative")
		if id == "" {
			id = c.FormValue("cooperative")
		}
		if id == "" && len(coops) > 0 {
			id = coops[0].ID
		}
	} else {
		coops = nil
	}
	coop, err := s.db.Cooperative(id)
	if err != nil {
		return nil, nil, err
	}
	return coop, coops, nil
}

type productRow struct {
	ID, Name, NameEN, GTIN, Category string
	Stars                            int
}

func (s *Workspace) productsPage(c echo.Context, p *appPage, coop *trace.Cooperative, coops []*trace.Cooperative) error {
	cat := p.Cat
	products, err := s.db.Products(coop.ID)
	if err != nil {
		return err
	}
	sort.Slice(products, func(i, j int) bool { return products[i].NameVI < products[j].NameVI })
	var rows []productRow
	for _, pr := range products {
		rows = append(rows, productRow{pr.ID, pr.NameVI, pr.NameEN, pr.GTIN, pr.Category, pr.OCOPStars})
	}
	p.Title = cat.Messages["app_products_title"]
	p.Data = map[string]any{"Rows": rows, "Cooperative": coop, "Cooperatives": coops, "Stars": starOptions(cat)}
	return nil
}

func starOptions(cat *api.Catalog) []appOption {
	return []appOption{{"", cat.Messages["app_ocop_none"]}, {"3", "3 ★"}, {"4", "4 ★"}, {"5", "5 ★"}}
}

func (s *Workspace) appProducts(c echo.Context) error {
	coop, coops, err := s.productsCooperative(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "products")
	if err := s.productsPage(c, p, coop, coops); err != nil {
		return err
	}
	return s.appRender(c, http.StatusOK, "app_products", p)
}

// productForm reads a product's fields from a form.
func productForm(c echo.Context, p *appPage) (*trace.Product, bool) {
	for _, k := range []string{"name_vi", "name_en", "gtin", "category", "ocop_stars"} {
		p.Form.Values[k] = strings.TrimSpace(c.FormValue(k))
	}
	f := p.Form.Values
	pr := &trace.Product{NameVI: f["name_vi"], NameEN: f["name_en"], Category: f["category"]}
	ok := true
	if f["ocop_stars"] != "" {
		n, err := strconv.Atoi(f["ocop_stars"])
		if err != nil {
			p.Form.Errors["ocop_stars"] = p.Cat.Messages["app_err_number"]
			ok = false
		}
		pr.OCOPStars = n
	}
	if f["gtin"] != "" {
		g, err := trace.NormalizeGTIN(f["gtin"])
		if err != nil {
			p.Form.fieldErrors(p.Cat, err, func(string) string { return "gtin" })
			ok = false
		}
		pr.GTIN = g
	}
	for _, k := range []string{"name_vi", "category"} {
		if f[k] == "" {
			p.Form.Errors[k] = p.Cat.Messages["app_err_required"]
			ok = false
		}
	}
	return pr, ok
}

func productField(f string) string {
	switch f {
	case "name_vi", "name_en", "category", "gtin", "ocop_stars":
		return f
	case "name":
		return "name_vi"
	}
	return ""
}

func (s *Workspace) appCreateProduct(c echo.Context) error {
	coop, coops, err := s.productsCooperative(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "products")
	pr, ok := productForm(c, p)
	if ok {
		pr.CooperativeID, pr.CreatedBy = coop.ID, "user:"+appUser(c).Username
		err = s.db.CreateProduct(pr)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/app/products?ok=product&cooperative="+coop.ID)
		}
		if !p.Form.fieldErrors(p.Cat, err, productField) {
			if !errors.Is(err, trace.ErrConflict) {
				return err
			}
			p.Form.Errors["gtin"] = localReason(p.Cat, "already exists: "+err.Error())
		}
	}
	if err := s.productsPage(c, p, coop, coops); err != nil {
		return err
	}
	return s.appRender(c, http.StatusUnprocessableEntity, "app_products", p)
}

// appLoadProduct loads a product the person may edit.
func (s *Workspace) appLoadProduct(c echo.Context) (*trace.Product, error) {
	pr, err := s.db.Product(c.Param("id"))
	if err != nil {
		return nil, err
	}
	if u := appUser(c); u.Role == store.RoleCooperative && pr.CooperativeID != u.CooperativeID {
		return nil, fmt.Errorf("product %s: %w", pr.ID, trace.ErrNotFound)
	}
	return pr, nil
}

func (s *Workspace) productEditPage(p *appPage, pr *trace.Product) {
	p.Title = p.Cat.Messages["app_product_edit"] + " · " + pr.NameVI
	p.Data = map[string]any{"ID": pr.ID, "Name": pr.NameVI, "GTIN": pr.GTIN, "Stars": starOptions(p.Cat), "Cooperative": pr.CooperativeID}
}

func (s *Workspace) appProductPage(c echo.Context) error {
	pr, err := s.appLoadProduct(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "products")
	f := p.Form.Values
	f["name_vi"], f["name_en"], f["gtin"], f["category"] = pr.NameVI, pr.NameEN, pr.GTIN, pr.Category
	if pr.OCOPStars > 0 {
		f["ocop_stars"] = strconv.Itoa(pr.OCOPStars)
	}
	s.productEditPage(p, pr)
	return s.appRender(c, http.StatusOK, "app_product", p)
}

func (s *Workspace) appUpdateProduct(c echo.Context) error {
	old, err := s.appLoadProduct(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "products")
	pr, ok := productForm(c, p)
	if old.GTIN != "" {
		// The GTIN never changes: labels and lots are known by it.
		pr.GTIN, p.Form.Values["gtin"] = old.GTIN, old.GTIN
		delete(p.Form.Errors, "gtin")
		ok = len(p.Form.Errors) == 0
	}
	if ok {
		pr.ID, pr.CooperativeID = old.ID, old.CooperativeID
		err = s.db.UpdateProduct(pr, "user:"+appUser(c).Username)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/app/products?ok=product&cooperative="+old.CooperativeID)
		}
		if !p.Form.fieldErrors(p.Cat, err, productField) {
			return err
		}
	}
	s.productEditPage(p, old)
	return s.appRender(c, http.StatusUnprocessableEntity, "app_product", p)
}

// A person's own password.

func (s *Workspace) appAccountPage(c echo.Context) error {
	p := s.appPage(c, "", "account")
	p.Title = p.Cat.Messages["app_account_title"]
	p.Data = map[string]any{"Role": roleName(p.Cat, appUser(c).Role)}
	return s.appRender(c, http.StatusOK, "app_account", p)
}

func (s *Workspace) appChangePassword(c echo.Context) error {
	u := appUser(c)
	p := s.appPage(c, "", "account")
	cat := p.Cat
	p.Title = cat.Messages["app_account_title"]
	p.Data = map[string]any{"Role": roleName(cat, u.Role)}
	current, next, again := c.FormValue("current"), c.FormValue("new"), c.FormValue("again")
	if _, err := s.db.CheckPassword(u.Username, current); err != nil {
		if !errors.Is(err, trace.ErrUnauthenticated) {
			return err
		}
		p.Form.Errors["current"] = cat.Messages["app_password_wrong"]
	}
	switch {
	case len([]rune(next)) < store.MinPasswordLen:
		p.Form.Errors["new"] = fmt.Sprintf(cat.Messages["app_password_short"], store.MinPasswordLen)
	case next != again:
		p.Form.Errors["again"] = cat.Messages["app_password_mismatch"]
	}
	if p.Form.HasErrors() {
		return s.appRender(c, http.StatusUnprocessableEntity, "app_account", p)
	}
	if err := s.db.SetPassword(u.Username, next); err != nil {
		if p.Form.fieldErrors(cat, err, func(string) string { return "new" }) {
			return s.appRender(c, http.StatusUnprocessableEntity, "app_account", p)
		}
		return err
	}
	// Every session ended with the old password: sign in again.
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/app", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secureCookies(c), MaxAge: -1})
	return c.Redirect(http.StatusSeeOther, "/app/login?ok=password")
}

// The admin's resets and cooperative profiles.

func (s *Workspace) appAdminResetPassword(c echo.Context) error {
	name := c.Param("username")
	p := s.adminForm(c, "r_password")
	p.Form.Values["r_user"] = name
	err := s.db.SetPassword(name, c.FormValue("r_password"))
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/app/admin?ok=password_reset")
	}
	if p.Form.fieldErrors(p.Cat, err, func(string) string { return "r_password" }) {
		p.Form.Errors["r_password"] = fmt.Sprintf(p.Cat.Messages["app_password_short"], store.MinPasswordLen)
	}
	return s.adminDone(c, p, err, "password_reset", same)
}

func (s *Workspace) appAdminUpdateCooperative(c echo.Context) error {
	id := c.Param("id")
	p := s.adminForm(c, "e_name", "e_province", "e_gln")
	p.Form.Values["e_id"] = id
	f := p.Form.Values
	err := s.db.UpdateCooperativeBy(&trace.Cooperative{ID: id, Name: f["e_name"], Province: f["e_province"], GLN: f["e_gln"]}, "user:"+appUser(c).Username)
	return s.adminDone(c, p, err, "cooperative_saved", func(f string) string {
		switch f {
		case "name", "province", "gln":
			return "e_" + f
		}
		return ""
	})
}
