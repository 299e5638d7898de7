// Command go-parse reads certificates and CRLs with Go's crypto/x509, the parser every Go
// gateway (Kubernetes, Traefik, Caddy) uses, and the one that refused the 123-bit 2.25 arc
// ("x509: malformed extension OID field"). Standard library only: it runs offline with
// `go run`. Arguments are "cert:PATH" or "crl:PATH" (PEM or DER); it prints one JSON object
// per argument on stdout: the fields read, or {"error": "..."}.
package main

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"os"
	"strings"
	"time"
)

type ext struct {
	OID      string `json:"oid"`
	Critical bool   `json:"critical"`
}

func der(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		return blk.Bytes, nil
	}
	return b, nil
}

func main() {
	out := []map[string]interface{}{}
	for _, arg := range os.Args[1:] {
		kind, path, _ := strings.Cut(arg, ":")
		r := map[string]interface{}{}
		b, err := der(path)
		if err == nil && kind == "cert" {
			var c *x509.Certificate
			if c, err = x509.ParseCertificate(b); err == nil {
				es := []ext{}
				for _, e := range c.Extensions {
					es = append(es, ext{e.Id.String(), e.Critical})
				}
				r["serial"] = fmt.Sprintf("%x", c.SerialNumber)
				r["notBefore"] = c.NotBefore.UTC().Format(time.RFC3339)
				r["notAfter"] = c.NotAfter.UTC().Format(time.RFC3339)
				r["extensions"] = es
				r["isCA"] = c.IsCA
				r["unhandledCritical"] = len(c.UnhandledCriticalExtensions)
			}
		} else if err == nil && kind == "crl" {
			var l *x509.RevocationList
			if l, err = x509.ParseRevocationList(b); err == nil {
				serials := []string{}
				for _, rc := range l.RevokedCertificates {
					serials = append(serials, fmt.Sprintf("%x", rc.SerialNumber))
				}
				r["number"] = l.Number.String()
				r["revoked"] = serials
			}
		} else if err == nil {
			err = fmt.Errorf("unknown kind %q", kind)
		}
		if err != nil {
			r = map[string]interface{}{"error": err.Error()}
		}
		out = append(out, r)
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		os.Exit(1)
	}
}
