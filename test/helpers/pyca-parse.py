"""Parse certificates, CRLs and OCSP responses with pyca/cryptography (Debian python3-cryptography).

The second parser in the interop tests (test/integration/second-parsers.test.ts). Reads a JSON
list of {"path", "kind": "certificate" | "crl" | "ocsp"} on stdin, writes one JSON object per
item on stdout: the fields a counterparty reads, or {"error": "..."} when the library refuses
the bytes. Input files are DER or PEM.
"""
import json
import sys

from cryptography import x509
from cryptography.x509 import ocsp


def load(path, der_loader, pem_loader):
    data = open(path, "rb").read()
    return pem_loader(data) if data.lstrip().startswith(b"-----BEGIN") else der_loader(data)


def exts(extensions):
    return [{"oid": e.oid.dotted_string, "critical": e.critical} for e in extensions]


def certificate(path):
    c = load(path, x509.load_der_x509_certificate, x509.load_pem_x509_certificate)
    out = {
        "version": c.version.name,
        "serial": format(c.serial_number, "x"),
        "subject": c.subject.rfc4514_string(),
        "issuer": c.issuer.rfc4514_string(),
        "notBefore": c.not_valid_before.isoformat() + "Z",
        "notAfter": c.not_valid_after.isoformat() + "Z",
        "signatureAlgorithm": c.signature_algorithm_oid.dotted_string,
        "extensions": exts(c.extensions),
    }
    try:
        bc = c.extensions.get_extension_for_class(x509.BasicConstraints).value
        out["basicConstraints"] = {"ca": bc.ca, "pathLen": bc.path_length}
    except x509.ExtensionNotFound:
        pass
    return out


def crl(path):
    c = load(path, x509.load_der_x509_crl, x509.load_pem_x509_crl)
    revoked = []
    for r in c:
        reason = None
        try:
            reason = r.extensions.get_extension_for_class(x509.CRLReason).value.reason.name
        except x509.ExtensionNotFound:
            pass
        revoked.append({"serial": format(r.serial_number, "x"), "reason": reason})
    return {
        "issuer": c.issuer.rfc4514_string(),
        "lastUpdate": c.last_update.isoformat() + "Z",
        "nextUpdate": c.next_update.isoformat() + "Z" if c.next_update else None,
        "extensions": exts(c.extensions),
        "revoked": revoked,
    }


def ocsp_response(path):
    r = ocsp.load_der_ocsp_response(open(path, "rb").read())
    out = {"responseStatus": r.response_status.name}
    if r.response_status != ocsp.OCSPResponseStatus.SUCCESSFUL:
        return out
    out.update(
        {
            "certificateStatus": r.certificate_status.name,
            "serial": format(r.serial_number, "x"),
            "thisUpdate": r.this_update.isoformat() + "Z",
            "nextUpdate": r.next_update.isoformat() + "Z" if r.next_update else None,
            "revocationReason": r.revocation_reason.name if r.revocation_reason else None,
            "responderCertificates": len(r.certificates),
            "signatureAlgorithm": r.signature_algorithm_oid.dotted_string,
        }
    )
    return out


PARSERS = {"certificate": certificate, "crl": crl, "ocsp": ocsp_response}

results = []
for item in json.load(sys.stdin):
    try:
        results.append(PARSERS[item["kind"]](item["path"]))
    except Exception as e:  # the refusal is the result
        results.append({"error": "%s: %s" % (type(e).__name__, e)})
json.dump(results, sys.stdout)
