"""TLS for every call mvptest makes: one verifying client context (private CA, client certificate), failures named."""

from __future__ import annotations

import contextlib
import os
import socket
import ssl
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mvptest.errors import ConfigError, InputError, Location, TargetUnreachable

CA_HINT = "pass --ca-bundle FILE (the PEM of the CA that issued the provider's certificate), or tls: ca_bundle: in the scenario"
CERT_HINT = "pass --client-cert FILE --client-key FILE (a certificate the provider trusts), or tls: client_cert: in the scenario"
POST_HANDSHAKE_WAIT_S = 1.0  # TLS 1.3: a server refuses a client certificate after the handshake; wait this long for it


@dataclass(frozen=True)
class TlsConfig:
    """PEM contents, not paths: a remote worker gets them in the plan and needs no files. Never stored in results."""

    ca_pem: str | None = field(default=None, repr=False)
    cert_pem: str | None = field(default=None, repr=False)
    key_pem: str | None = field(default=None, repr=False)  # None when the key is in cert_pem
    ca_name: str = ""  # where they came from, for messages
    cert_name: str = ""

    @property
    def has_client_cert(self) -> bool:
        return self.cert_pem is not None

    def to_wire(self) -> dict[str, Any]:
        return {"ca_pem": self.ca_pem, "cert_pem": self.cert_pem, "key_pem": self.key_pem,
                "ca_name": self.ca_name, "cert_name": self.cert_name}

    @classmethod
    def from_wire(cls, data: dict[str, Any] | None) -> TlsConfig | None:
        return None if not data else cls(**{k: data.get(k) or None for k in ("ca_pem", "cert_pem", "key_pem")},
                                         ca_name=data.get("ca_name") or "", cert_name=data.get("cert_name") or "")


# --------------------------------------------------------------------------- the context


class _Encrypted(Exception):
    """OpenSSL asked for a passphrase: the key is encrypted (and must never prompt on a CI terminal)."""


def _no_passphrase() -> str:
    raise _Encrypted


@contextlib.contextmanager
def _memory_file(text: str) -> Iterator[str]:
    """A path OpenSSL can read holding ``text``: an anonymous memory file where the system has one, so that key
    material never touches a disk; else a private temporary file, removed at once."""
    data = text.encode("utf-8")
    if hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd"):
        fd = os.memfd_create("mvptest-tls", os.MFD_CLOEXEC)
        try:
            os.write(fd, data)
            yield f"/proc/self/fd/{fd}"
        finally:
            os.close(fd)
        return
    fd, path = tempfile.mkstemp(prefix="mvptest-tls-")  # mode 0600
    try:
        os.write(fd, data)
        os.close(fd)
        yield path
    finally:
        os.unlink(path)


def client_context(config: TlsConfig | None, *, create: Callable[[], ssl.SSLContext] | None = None) -> ssl.SSLContext:
    """The context of every HTTPS call: verification on (certificate and host name), the default trust store plus the
    CA bundle, the client certificate when there is one. ``create`` makes the base context (gevent's in a load process)."""
    ctx = (create or ssl.create_default_context)()
    ctx.verify_mode = ssl.CERT_REQUIRED
    ctx.check_hostname = True
    if config is not None and config.ca_pem:
        ctx.load_verify_locations(cadata=config.ca_pem)
    if config is not None and config.cert_pem:
        with contextlib.ExitStack() as stack:
            cert = stack.enter_context(_memory_file(config.cert_pem))
            key = stack.enter_context(_memory_file(config.key_pem)) if config.key_pem else None
            ctx.load_cert_chain(cert, key, password=_no_passphrase)
    return ctx


# --------------------------------------------------------------------------- files, checked up front


def _read(path: Path, what: str, where: Location | None) -> tuple[str, str]:
    from mvptest.spec.loader import display_path

    name = display_path(path)
    prefix = f"{what} {name}: " if where is not None else ""
    at = where or name
    try:
        if path.is_dir():
            raise InputError(f"{prefix}is a folder, not a PEM file", where=at)
        return path.read_text(encoding="ascii"), name
    except FileNotFoundError:
        raise InputError(f"{prefix}no such file", where=at, hint=f"check the path of {what}") from None
    except UnicodeDecodeError:
        raise InputError(f"{prefix}is not a PEM file (binary content: DER?)", where=at,
                         hint=f"convert it: openssl x509 -inform der -in {name} -out {Path(name).stem}.pem") from None
    except OSError as exc:
        raise InputError(f"{prefix}cannot read: {exc.strerror or exc}", where=at) from None


def _bad(name: str, what: str, where: Location | None, message: str, hint: str = "") -> InputError:
    prefix = f"{what} {name}: " if where is not None else ""
    return InputError(prefix + message, where=where or name, hint=hint)


def load(ca_bundle: Path | None = None, client_cert: Path | None = None, client_key: Path | None = None, *,
         where: dict[str, Location] | None = None, names: dict[str, str] | None = None) -> TlsConfig | None:
    """Read and check the files (exit 2 naming the file, or the scenario line in ``where``); None when none given.

    ``names`` says how each file is called in messages (an option, or a scenario key)."""
    where = where or {}
    names = {"ca_bundle": "--ca-bundle", "client_cert": "--client-cert", "client_key": "--client-key", **(names or {})}
    if client_key is not None and client_cert is None:
        raise ConfigError(f"{names['client_key']} needs {names['client_cert']}",
                         hint="give the client certificate too (or one PEM file holding certificate and key)")
    if ca_bundle is None and client_cert is None:
        return None
    ca_pem = ca_name = cert_pem = cert_name = key_pem = None
    key_name = ""
    if ca_bundle is not None:
        ca_pem, ca_name = _read(ca_bundle, names["ca_bundle"], where.get("ca_bundle"))
        if "-----BEGIN CERTIFICATE-----" not in ca_pem:
            raise _bad(ca_name, names["ca_bundle"], where.get("ca_bundle"), "is not a PEM certificate bundle "
                       "(no -----BEGIN CERTIFICATE----- line)", "a CA bundle is one or more PEM certificates of the CA")
        try:
            ssl.create_default_context().load_verify_locations(cadata=ca_pem)
        except ssl.SSLError as exc:
            raise _bad(ca_name, names["ca_bundle"], where.get("ca_bundle"),
                       f"holds a certificate that cannot be read ({exc.reason or exc})") from None
    if client_cert is not None:
        cert_pem, cert_name = _read(client_cert, names["client_cert"], where.get("client_cert"))
        if "-----BEGIN CERTIFICATE-----" not in cert_pem:
            raise _bad(cert_name, names["client_cert"], where.get("client_cert"),
                       "is not a PEM certificate (no -----BEGIN CERTIFICATE----- line)")
        key_text, key_at, key_what = cert_pem, where.get("client_cert"), names["client_cert"]
        key_name = cert_name
        if client_key is not None:
            key_pem, key_name = _read(client_key, names["client_key"], where.get("client_key"))
            key_text, key_at, key_what = key_pem, where.get("client_key"), names["client_key"]
        if "PRIVATE KEY-----" not in key_text:
            if client_key is None:
                raise _bad(cert_name, names["client_cert"], where.get("client_cert"), "holds no private key",
                           f"give the key with {names['client_key']} FILE")
            raise _bad(key_name, key_what, key_at, "is not a PEM private key (no -----BEGIN ... PRIVATE KEY----- line)")
        if "ENCRYPTED" in key_text:
            raise _bad(key_name, key_what, key_at, "is an encrypted private key, and mvptest does not ask for a passphrase",
                       f"decrypt a copy for the run and keep it private: openssl pkey -in {key_name} -out client.key")
    config = TlsConfig(ca_pem, cert_pem, key_pem, ca_name=ca_name or "", cert_name=cert_name or "")
    try:
        client_context(config)
    except _Encrypted:
        raise _bad(key_name, names["client_key"], where.get("client_key") or where.get("client_cert"),
                   "is an encrypted private key, and mvptest does not ask for a passphrase",
                   f"decrypt a copy for the run and keep it private: openssl pkey -in {key_name} -out client.key") from None
    except ssl.SSLError as exc:
        if "KEY_VALUES_MISMATCH" in str(exc):
            raise _bad(key_name, names["client_key"] if client_key else names["client_cert"],
                       where.get("client_key") or where.get("client_cert"),
                       f"the private key does not match the certificate in {cert_name}",
                       "give the key that was issued with this certificate") from None
        raise _bad(key_name, names["client_key"] if client_key else names["client_cert"],
                   where.get("client_key") or where.get("client_cert"),
                   f"the certificate or key cannot be read ({exc.reason or exc})") from None
    return config


def merged(scenario: TlsConfig | None, cli: TlsConfig | None, *, cli_ca: bool, cli_cert: bool) -> TlsConfig | None:
    """What the command line gives overrides the scenario's, the CA and the client certificate each on its own."""
    if cli is None:
        return scenario
    if scenario is None:
        return cli
    ca = cli if cli_ca else scenario
    cert = cli if cli_cert else scenario
    return TlsConfig(ca.ca_pem, cert.cert_pem, cert.key_pem, ca_name=ca.ca_name, cert_name=cert.cert_name)


def plan_tls(section: dict[str, Any] | None, *, base: Path, locate: Callable[[str], Location],
             ca_bundle: Path | None = None, client_cert: Path | None = None, client_key: Path | None = None) -> TlsConfig | None:
    """The run's TLS: each option overrides the scenario's ``tls:`` key (paths relative to the scenario, errors at its
    lines); a --client-cert comes with its own --client-key (or holds the key), never with the scenario's."""
    section = section or {}
    files: dict[str, Path | None] = {"ca_bundle": ca_bundle, "client_cert": client_cert, "client_key": client_key}
    where: dict[str, Location] = {}
    names: dict[str, str] = {}
    for key in list(files):  # files[key] is replaced inside the loop
        if files[key] is None and section.get(key) and not (key == "client_key" and client_cert is not None):
            files[key] = base / str(section[key])
            where[key] = locate(f"/tls/{key}")
            names[key] = f"tls.{key}"
    return load(files["ca_bundle"], files["client_cert"], files["client_key"], where=where, names=names)


# --------------------------------------------------------------------------- failures, said for users


@dataclass(frozen=True)
class TlsProblem:
    message: str
    hint: str = ""


def find_ssl_error(exc: BaseException | None) -> ssl.SSLError | None:
    """The ssl.SSLError somewhere in what an HTTP client raised (requests, urllib3, geventhttpclient wrap it)."""
    seen: set[int] = set()
    todo: list[Any] = [exc]
    while todo:
        e = todo.pop(0)
        if not isinstance(e, BaseException) or id(e) in seen or len(seen) > 20:
            continue
        seen.add(id(e))
        if isinstance(e, ssl.SSLError):
            return e
        todo += [e.__cause__, e.__context__, getattr(e, "reason", None), getattr(e, "original", None), *e.args]
    return None


_CLIENT_CERT_REFUSED = {
    "TLSV1_ALERT_UNKNOWN_CA": "the server does not trust the client certificate (its CA is unknown to the server)",
    "SSLV3_ALERT_BAD_CERTIFICATE": "the server rejected the client certificate",
    "SSLV3_ALERT_CERTIFICATE_UNKNOWN": "the server rejected the client certificate",
    "SSLV3_ALERT_CERTIFICATE_EXPIRED": "the server says the client certificate has expired",
    "SSLV3_ALERT_CERTIFICATE_REVOKED": "the server says the client certificate is revoked",
    "TLSV1_ALERT_ACCESS_DENIED": "the server denied access to this client certificate",
}


def describe(exc: BaseException | None, host: str = "", *, client_cert: bool = False) -> TlsProblem | None:
    """What a TLS failure means for the user, and how to fix it; None when ``exc`` is not a TLS failure."""
    err = find_ssl_error(exc)
    if err is None:
        return None
    where = f" for {host}" if host else ""
    if isinstance(err, ssl.SSLCertVerificationError):
        code, text = err.verify_code, err.verify_message or str(err)
        if code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH
            return TlsProblem(f"certificate verify failed: hostname mismatch: the server's certificate is not issued{where}",
                              "use the host name the certificate names (in --target), or ask the provider for a "
                              "certificate that names this host")
        if code == 10:
            return TlsProblem("certificate verify failed: the server's certificate has expired",
                              "the provider must renew it (check this machine's clock too)")
        if code == 9:
            return TlsProblem("certificate verify failed: the server's certificate is not valid yet",
                              "check this machine's clock")
        if code in (2, 18, 19, 20, 21):
            return TlsProblem(f"certificate verify failed: self-signed / unknown CA ({text})", CA_HINT)
        return TlsProblem(f"certificate verify failed: {text}", CA_HINT)
    reason = err.reason or ""
    if reason in ("TLSV13_ALERT_CERTIFICATE_REQUIRED", "PEER_DID_NOT_RETURN_A_CERTIFICATE"):
        return TlsProblem("the server wants a client certificate (mutual TLS), and none was sent", CERT_HINT)
    if reason in _CLIENT_CERT_REFUSED:
        return TlsProblem(_CLIENT_CERT_REFUSED[reason], "use a client certificate issued by a CA the provider trusts")
    if reason in ("SSLV3_ALERT_HANDSHAKE_FAILURE",) or isinstance(err, (ssl.SSLEOFError, ssl.SSLZeroReturnError)):
        if not client_cert:
            return TlsProblem("TLS handshake failure: the server ended the handshake; it may want a client certificate "
                              "(mutual TLS), and none was sent", CERT_HINT)
        return TlsProblem("TLS handshake failure: the server ended the handshake (no TLS version or cipher in common, "
                          "or it refused the client certificate)", "ask the provider which TLS settings it accepts")
    if reason in ("WRONG_VERSION_NUMBER", "HTTP_REQUEST", "PACKET_LENGTH_TOO_LONG", "RECORD_LAYER_FAILURE"):
        return TlsProblem("TLS handshake failure: the server does not speak TLS on this port",
                          "is the target http:// rather than https://?")
    if reason in ("TLSV1_ALERT_PROTOCOL_VERSION", "UNSUPPORTED_PROTOCOL", "NO_PROTOCOLS_AVAILABLE"):
        return TlsProblem("TLS handshake failure: no TLS version in common with the server",
                          "mvptest speaks TLS 1.2 and 1.3; ask the provider which it accepts")
    return TlsProblem(f"TLS handshake failure: {reason or err}", "")


def handshake(sock: socket.socket, host: str, config: TlsConfig | None, *, where: str,
              create: Callable[[], ssl.SSLContext] | None = None) -> None:
    """Complete a TLS handshake on a connected socket as the load will (exit 3, named, when it fails). With TLS 1.3 a
    server refuses a client certificate after the handshake: wait until its session ticket (or its alert) arrives."""
    client_cert = config is not None and config.has_client_cert
    try:
        ssock = client_context(config, create=create).wrap_socket(sock, server_hostname=host)
    except (ssl.SSLError, OSError) as exc:
        sock.close()
        raise _unreachable(exc, host, where, client_cert) from None
    try:
        if ssock.version() != "TLSv1.3":
            return
        deadline = time.monotonic() + POST_HANDSHAKE_WAIT_S
        while time.monotonic() < deadline:
            session = ssock.session
            if session is not None and session.has_ticket:
                return  # the server accepted us: it sent a session ticket
            ssock.settimeout(0.05)
            try:
                if ssock.recv(1) == b"":
                    return
            except (TimeoutError, ssl.SSLWantReadError):
                continue
            except (ssl.SSLError, OSError) as exc:
                raise _unreachable(exc, host, where, client_cert) from None
    finally:
        ssock.close()


def _unreachable(exc: BaseException, host: str, where: str, client_cert: bool) -> TargetUnreachable:
    problem = describe(exc, host, client_cert=client_cert)
    if problem is None:
        return TargetUnreachable(f"TLS handshake with {host} failed: {exc}", where=where)
    return TargetUnreachable(problem.message, where=where, hint=problem.hint)
