"""Graph's date-time shapes: dateTimeTimeZone (Outlook) and ISO 8601 UTC stamps (Teams)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tzlocal.windows_tz import win_tz

from integrator.sandbox.graph.errors import GraphError

# Outlook accepts every Windows zone name ("Pacific Standard Time", "FLE Standard Time") as well
# as IANA names. Python's zoneinfo knows only IANA names; tzlocal ships the maintained Windows ->
# IANA table generated from Unicode CLDR's windowsZones.xml (the "001" territory of each zone).
# Outlook matches the names case-insensitively.
_WINDOWS_ZONES = {name.lower(): iana for name, iana in win_tz.items()}


def zone(name: str) -> ZoneInfo:
    iana = _WINDOWS_ZONES.get(name.strip().lower(), name.strip())
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise GraphError(
            400,
            "TimeZoneNotSupportedException",
            f"A valid TimeZone value must be specified. The following TimeZone value is not supported: '{name}'.",
        ) from None


def parse_iso(value: str) -> datetime:
    """An ISO 8601 stamp as Graph sends it (up to 7 fractional digits, 'Z' or offset)."""
    text = value.strip().replace("Z", "+00:00")
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        rest = tail[len(digits):]
        text = f"{head}.{digits[:6].ljust(6, '0')}{rest}"
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise GraphError(400, "BadRequest", f"Cannot convert the literal '{value}' to the expected type 'Edm.DateTimeOffset'.") from None


def parse_date_time_time_zone(value: object) -> datetime:
    """A dateTimeTimeZone object -> aware UTC datetime."""
    if not isinstance(value, dict) or not isinstance(value.get("dateTime"), str):
        raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. A start and end time are required.")
    tz_name = value.get("timeZone") or "UTC"
    if not isinstance(tz_name, str):
        raise GraphError(400, "TimeZoneNotSupportedException", "A valid TimeZone value must be specified.")
    local = parse_iso(value["dateTime"])
    if local.tzinfo is None:
        local = local.replace(tzinfo=zone(tz_name))
    return local.astimezone(UTC)


def date_time_time_zone(moment: datetime, tz_name: str = "UTC") -> dict[str, str]:
    """Outlook's output shape: local wall time with seven fractional digits, plus the zone name."""
    local = moment.astimezone(zone(tz_name)).replace(tzinfo=None)
    return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.") + f"{local.microsecond:06d}0", "timeZone": tz_name}


def iso_z(moment: datetime) -> str:
    """Teams/directory stamps: UTC with 'Z'."""
    utc = moment.astimezone(UTC)
    if utc.microsecond:
        return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}0Z"
    return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
