"""Pure rules of the domain: no I/O, no imports of store, providers or web.

Only the standard library, the `holidays` package and value types (`integrator.config.Rules`,
the enums of `integrator.store.models`) are imported here.

- `calendar`: ISO weeks, a group's work days minus Finnish public holidays (including
  Juhannusaatto and Jouluaatto, as `holidays.Finland` reports them) and closure days,
  a client's days, meeting windows as aware UTC.
- `periods`: the 3-24 month / 1-4 days / 4 hours frame. All date ranges are inclusive at both ends.
- `consent`: nothing is provisioned before the data-protection briefing is recorded.
- `attendance`: minutes in the meeting, the day's status with Finnish reasons, absence
  streaks, the daily compensation in Decimal.
"""
