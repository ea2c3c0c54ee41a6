package mailer_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/nurture-email/nurture"
	"github.com/nurture-email/nurture/mailer"
)

// An email with files is a multipart/mixed: the bodies first, as they are
// without files, then each file in base64 under the name it was given,
// which a MIME parser reads back unchanged, ASCII or not.
func TestSendAttachments(t *testing.T) {
	t.Parallel()
	b := setup(t, mailer.Config{})
	big := bytes.Repeat([]byte(`{"event":"signed_up","props":{"plan":"pro"}},`), 500)
	files := []nurture.Attachment{
		{Filename: "nurture-export-2026-12-06.json", ContentType: "application/json", Data: big},
		{Filename: "données de Jörg; été.txt", ContentType: "text/plain", Data: []byte("ünïcode\r\n.\r\n")},
		{Filename: "empty.bin", ContentType: "application/octet-stream"},
	}
	for _, bodies := range []string{"text and html", "text only"} {
		e := newEmail("files-" + strings.ReplaceAll(bodies, " ", "-"))
		if bodies == "text only" {
			e.HTML = ""
		}
		e.Attachments = files
		require.NoError(t, b.mailer.Send(t.Context(), e), bodies)
	}
	msgs := b.relay.WaitForMessages(t, 2, 5*time.Second)
	for i, m := range msgs {
		for n, line := range strings.Split(string(m.Data), "\r\n") {
			require.LessOrEqual(t, len(line), 998, "message %d line %d", i, n)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(m.Data))
		require.NoError(t, err)
		mediaType, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
		require.NoError(t, err)
		require.Equal(t, "multipart/mixed", mediaType)
		mr := multipart.NewReader(msg.Body, params["boundary"])

		first, err := mr.NextRawPart()
		require.NoError(t, err)
		inner, _, err := mime.ParseMediaType(first.Header.Get("Content-Type"))
		require.NoError(t, err)
		if i == 0 {
			require.Equal(t, "multipart/alternative", inner, "the bodies come first")
			require.Equal(t, newEmail("x").HTML, m.Part("text/html"))
		} else {
			require.Equal(t, "text/plain", inner, "the one body comes first")
		}
		require.Contains(t, m.Part("text/plain"), "welcome aboard")

		for _, want := range files {
			p, err := mr.NextRawPart()
			require.NoError(t, err, want.Filename)
			require.Equal(t, want.Filename, p.FileName())
			ct, ctParams, err := mime.ParseMediaType(p.Header.Get("Content-Type"))
			require.NoError(t, err)
			require.Equal(t, want.ContentType, ct)
			require.Equal(t, want.Filename, ctParams["name"])
			require.Equal(t, "base64", p.Header.Get("Content-Transfer-Encoding"))
			raw, err := io.ReadAll(p)
			require.NoError(t, err)
			for _, line := range strings.Split(strings.TrimRight(string(raw), "\r\n"), "\r\n") {
				require.LessOrEqual(t, len(line), 76, want.Filename)
			}
			got, err := io.ReadAll(base64.NewDecoder(base64.StdEncoding, bytes.NewReader(raw)))
			require.NoError(t, err)
			require.Equal(t, string(want.Data), string(got), want.Filename)
		}
		_, err = mr.NextRawPart()
		require.ErrorIs(t, err, io.EOF, "no part after the files")
	}
}
