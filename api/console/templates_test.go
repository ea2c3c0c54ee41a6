package console_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/api/console"
)

// templatesPages is the templates concern: the shipped templates, and
// the harness's store for contacts.
func templatesPages(t *testing.T, h *harness) *console.Templates {
	t.Helper()
	tmpl, _ := shippedSequences(t)
	return &console.Templates{Set: tmpl, Contacts: h.store}
}

// The gallery shows every template with its subject (for the sample
// data), its topic and the start of its text, each linking to its preview.
func TestTemplatesGallery(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	page, res := h.get(t, h.signedIn(t), "/admin/templates")
	require.Equal(t, http.StatusOK, res.StatusCode)
	tmpl, _ := shippedSequences(t)
	for _, name := range tmpl.Names() {
		require.Contains(t, page, `<a href="/admin/templates/`+name+`">`+name+`</a>`)
	}
	require.Contains(t, page, "Welcome to Acme CRM, Ada")
	require.Contains(t, page, `<span class="badge">onboarding</span>`)
	require.Contains(t, page, "Three quick steps to get Example &amp; Co up and running.")
	require.NotContains(t, page, `class="error"`)
}

// A template's page previews it for the contact named by id or address
// (the sample data when none is), with subject, text part and two frames
// of the sandboxed HTML at a desktop's and a phone's width.
func TestTemplatePreview(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	ctx := context.Background()
	contact, _, err := h.store.UpsertContact(ctx, &nurture.Contact{Email: "lin@example.com", FirstName: "Lin", Company: "Lin's <Bakery>"})
	require.NoError(t, err)
	c := h.signedIn(t)

	page, res := h.get(t, c, "/admin/templates/welcome")
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, page, "Rendered for sample data")
	require.Contains(t, page, "Welcome to Acme CRM, Ada")
	require.Contains(t, page, `src="/admin/templates/welcome/render"`)

	for _, ref := range []string{"lin@example.com", strconv.FormatInt(contact.ID, 10)} {
		page, res := h.get(t, c, "/admin/templates/welcome?contact="+url.QueryEscape(ref))
		require.Equal(t, http.StatusOK, res.StatusCode, page)
		require.Contains(t, page, "Rendered for contact "+strconv.FormatInt(contact.ID, 10)+" (lin@example.com)")
		require.Contains(t, page, `<dd class="subject">Welcome to Acme CRM, Lin</dd>`)
		require.Contains(t, page, "the rest of the Lin&#39;s &lt;Bakery&gt; team in", "the text part, escaped")
		src := `/admin/templates/welcome/render?contact=` + url.QueryEscape(ref)
		require.Contains(t, page, `<iframe class="email-frame desktop" title="The email at a desktop's width" src="`+strings.ReplaceAll(src, "@", "%40")+`" sandbox>`)
		require.Contains(t, page, `class="email-frame phone"`)

		html, res := h.get(t, c, src)
		require.Equal(t, http.StatusOK, res.StatusCode)
		require.Equal(t, "sandbox; default-src 'none'; img-src https: data:; style-src 'unsafe-inline'", res.Header.Get("Content-Security-Policy"))
		require.Contains(t, html, "Lin&#39;s &lt;Bakery&gt;")
		require.Contains(t, html, "<title>Welcome to Acme CRM, Lin</title>")
	}

	for _, tc := range []struct {
		contact string
		status  int
		want    string
	}{
		{"nobody@example.com", http.StatusNotFound, "contact: no contact has this id or email address"},
		{"999999", http.StatusNotFound, "contact: no contact has this id or email address"},
		{"lin", http.StatusBadRequest, "contact: must be a contact&#39;s id"},
		{"not an@address", http.StatusBadRequest, "contact: is not an email address"},
	} {
		page, res := h.get(t, c, "/admin/templates/welcome?contact="+url.QueryEscape(tc.contact))
		require.Equal(t, tc.status, res.StatusCode, tc.contact)
		require.Contains(t, page, `<p class="error" role="alert">`+tc.want, tc.contact)
		render, res := h.get(t, c, "/admin/templates/welcome/render?contact="+url.QueryEscape(tc.contact))
		require.Equal(t, tc.status, res.StatusCode, tc.contact)
		require.Contains(t, render, tc.want, tc.contact)
		require.Contains(t, res.Header.Get("Content-Security-Policy"), "sandbox", "an error is sandboxed too")
	}
}

// A template that does not exist is a 404, on its page and its render.
func TestTemplateMissing(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	c := h.signedIn(t)
	page, res := h.get(t, c, "/admin/templates/nope")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
	require.Contains(t, page, "There is no email template with this name.")
	_, res = h.get(t, c, "/admin/templates/nope/render")
	require.Equal(t, http.StatusNotFound, res.StatusCode)
}

// The render endpoint is behind the sign-in, as every page.
func TestTemplateRenderNeedsSignIn(t *testing.T) {
	t.Parallel()
	h := newHarness(t)
	body, res := h.get(t, h.client(t), "/admin/templates/welcome/render")
	require.NotEqual(t, http.StatusOK, res.StatusCode)
	require.NotContains(t, body, "Welcome to")
}
