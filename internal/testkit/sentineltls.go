package testkit

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// SentinelTLS is a Redis primary and a sentinel that serve clients over
// TLS only, with a certificate for 127.0.0.1 signed by a CA of the test's
// own (testkit watches them on plain ports of its own).
type SentinelTLS struct {
	// Addr is the sentinel's TLS address, host:port.
	Addr string
	// Master is the name the sentinel knows the primary by.
	Master string
	// CAFile is the PEM file of the CA that signed the servers'
	// certificate.
	CAFile string
}

// NewSentinelTLS starts the primary and its sentinel.
func NewSentinelTLS(t testing.TB) *SentinelTLS {
	t.Helper()
	dir := t.TempDir()
	caFile, certFile, keyFile, err := writeLoopbackCerts(dir)
	if err != nil {
		t.Fatalf("testkit: certificates: %v", err)
	}
	tlsArgs := func(port int) []string {
		return []string{"--tls-port", strconv.Itoa(port), "--tls-cert-file", certFile, "--tls-key-file", keyFile,
			"--tls-ca-cert-file", caFile, "--tls-auth-clients", "no"}
	}
	primaryPort, err := FreePort()
	if err != nil {
		t.Fatalf("testkit: find a free port: %v", err)
	}
	newRedisServer(t, nil, tlsArgs(primaryPort))
	sentinelPort, err := FreePort()
	if err != nil {
		t.Fatalf("testkit: find a free port: %v", err)
	}
	s := &SentinelTLS{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(sentinelPort)), Master: "nurture", CAFile: caFile}
	conf := func(dir string, _ int) (string, error) {
		file := filepath.Join(dir, "sentinel.conf")
		return file, os.WriteFile(file, fmt.Appendf(nil, "sentinel monitor %s 127.0.0.1 %d 1\n", s.Master, primaryPort), 0o644)
	}
	// --tls-replication: the sentinel speaks TLS to the primary too.
	newRedisServer(t, conf, append([]string{"--sentinel", "--tls-replication", "yes"}, tlsArgs(sentinelPort)...))
	return s
}

// writeLoopbackCerts writes a CA and a certificate for 127.0.0.1 signed by
// it, with its key, into dir.
func writeLoopbackCerts(dir string) (caFile, certFile, keyFile string, err error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	now := time.Now() //nolint:forbidigo // certificates are checked against the wall clock
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "testkit CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return "", "", "", err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return "", "", "", err
	}
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:    x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return "", "", "", err
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, caCert, &key.PublicKey, caKey)
	if err != nil {
		return "", "", "", err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return "", "", "", err
	}
	caFile, certFile, keyFile = filepath.Join(dir, "ca.pem"), filepath.Join(dir, "server.pem"), filepath.Join(dir, "server.key")
	for file, block := range map[string]*pem.Block{
		caFile:   {Type: "CERTIFICATE", Bytes: caDER},
		certFile: {Type: "CERTIFICATE", Bytes: leafDER},
		keyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(file, pem.EncodeToMemory(block), 0o600); err != nil {
			return "", "", "", err
		}
	}
	return caFile, certFile, keyFile, nil
}
