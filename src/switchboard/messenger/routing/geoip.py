"""A visitor's region from their IP address, read from a local MaxMind City database.

No network: the `.mmdb` file is read in process (memory-mapped; a lookup takes microseconds).
A missing or unreadable file, a private or unknown address, or an address that is not one at
all is simply "no region" (the default branch takes the visitor); a missing file is looked for
again every few minutes, so one copied in later is picked up without a restart.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol, Self

import geoip2.database
import geoip2.errors
import maxminddb
import structlog

from switchboard.messenger.settings import MessengerSettings

if TYPE_CHECKING:
    from switchboard.runtime import Runtime

log = structlog.get_logger(__name__)

RETRY_OPEN_SECONDS = 300.0


class RegionLocator(Protocol):
    def regions(self, ip: str | None) -> list[str]:
        """Region codes of `ip`, most specific first (`["RU-SVE", "RU"]`); [] when unknown."""
        ...


class NoLocator:
    """No GeoIP: every visitor is of no known region."""

    def regions(self, ip: str | None) -> list[str]:
        return []


class GeoIpLocator:
    """The process's reader of `GEOIP_DATABASE_PATH` (a runtime extension)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._reader: geoip2.database.Reader | None = None
        self._next_try = 0.0

    @classmethod
    def create(cls, runtime: Runtime) -> Self:
        return cls(MessengerSettings.of(runtime.settings).geoip_database_path)

    def _open(self) -> geoip2.database.Reader | None:
        if self._reader is not None or not self.path or time.monotonic() < self._next_try:
            return self._reader
        try:
            self._reader = geoip2.database.Reader(self.path)
        except (OSError, maxminddb.InvalidDatabaseError, ValueError) as failure:
            self._next_try = time.monotonic() + RETRY_OPEN_SECONDS
            log.warning("geoip database unavailable", path=self.path, error=str(failure))
        return self._reader

    def regions(self, ip: str | None) -> list[str]:
        reader = self._open() if ip else None
        if reader is None or ip is None:
            return []
        try:
            city = reader.city(ip)
        except (geoip2.errors.AddressNotFoundError, ValueError, TypeError):
            return []
        country = city.country.iso_code
        subdivision = city.subdivisions.most_specific.iso_code
        codes = [f"{country}-{subdivision}"] if country and subdivision else []
        return [*codes, country] if country else codes

    async def aclose(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None
