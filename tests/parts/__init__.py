"""Real external parts (servers, binaries) that the test harness starts on loopback."""

import datetime as dt
import ipaddress
import os
import socket
from typing import NoReturn

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# CI sets this so that a part missing on the runner is a failure, never a silent skip.
REQUIRE_ALL_PARTS_ENV = "TRUPEO_REQUIRE_ALL_PARTS"


def require_part(name: str, reason: str) -> NoReturn:
    """Give up on a test because the part `name` is unavailable.

    Skips with a clear message on a laptop; fails when TRUPEO_REQUIRE_ALL_PARTS=1 (CI).
    """
    message = f"test part {name!r} unavailable: {reason}"
    if os.environ.get(REQUIRE_ALL_PARTS_ENV, "").strip().lower() in {"1", "true", "yes", "on"}:
        pytest.fail(f"{message} ({REQUIRE_ALL_PARTS_ENV} is set)", pytrace=False)
    pytest.skip(message)


def free_loopback_port() -> int:
    """A TCP port free on 127.0.0.1 right now (the caller retries if it loses the race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_certificate(host: str = "127.0.0.1") -> tuple[bytes, bytes]:
    """(certificate PEM, private key PEM) for `host` and localhost, valid around now.

    Clients trust it with `ssl.create_default_context(cadata=cert_pem.decode())`, so TLS
    tests verify the certificate and hostname as production does instead of disabling checks.
    """
    key = ec.generate_private_key(ec.SECP256R1())  # EC: generated in microseconds, unlike RSA
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(host))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(key.public_key()), critical=False
        )
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem
