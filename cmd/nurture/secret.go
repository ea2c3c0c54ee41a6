package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"strings"

	"github.com/nurture-email/nurture/internal/config"
)

// runSecret serves `nurture secret`: without NURTURE_SECRET_FILE it prints a
// new random secret, to paste into NURTURE_SECRET; with it, it makes sure the
// file holds one, writing a new secret (readable by this user only) when
// the file is missing or empty and keeping a good one. It never overwrites a
// secret, and never prints one it writes to a file.
func runSecret(cfg *config.Config, logger *slog.Logger, stdout io.Writer) error {
	if cfg.SecretFile == "" {
		_, err := fmt.Fprintln(stdout, config.NewSecret())
		return err
	}
	path := cfg.SecretFile
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		data, rerr := os.ReadFile(path)
		if rerr != nil {
			return fmt.Errorf("NURTURE_SECRET_FILE: %w", rerr)
		}
		if s := strings.TrimSpace(string(data)); s != "" {
			if err := config.CheckSecret(s); err != nil {
				return fmt.Errorf("NURTURE_SECRET_FILE: %s already holds a secret, which is refused: %w (remove the file to have a new one made)", path, err)
			}
			logger.Info("secret file already holds a secret; kept", "path", path)
			return nil
		}
		// Empty: a write that did not finish. Fill it.
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
	}
	if err != nil {
		return fmt.Errorf("NURTURE_SECRET_FILE: %w", err)
	}
	if _, err := fmt.Fprintln(f, config.NewSecret()); err != nil {
		_ = f.Close()
		return fmt.Errorf("NURTURE_SECRET_FILE: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		return fmt.Errorf("NURTURE_SECRET_FILE: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("NURTURE_SECRET_FILE: write %s: %w", path, err)
	}
	logger.Info("wrote a new secret", "path", path)
	return nil
}
