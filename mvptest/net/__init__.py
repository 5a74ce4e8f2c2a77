"""Network policy: traffic goes only where the user pointed it (loopback, or hosts named with --allow-host)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit


def host_allowed(url: str, allowed: list[str]) -> bool:
    """Loopback is always allowed; any other host only when named in allowed_hosts / --allow-host."""
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        if ipaddress.ip_address(host).is_loopback:
            return True
    except ValueError:
        pass
    return host in allowed or any(h == host or (h.startswith("*.") and host.endswith(h[1:])) for h in allowed)
