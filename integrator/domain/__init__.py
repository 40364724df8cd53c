"""Pure rules of the domain: no I/O, and no imports of ours outside this package.

Only the standard library and the `holidays` package are imported here (an import-linter
contract in scripts/test holds that). What the rules need of the configuration is named by
protocols in `rules`; the configuration's `Rules` satisfies them.

- `types`: the closed sets of values (StrEnums) the store, the rules and the pages share.
- `weeks`: ISO weeks and months, Finnish weekday names.
- `participation`: THE rule of whether client C takes part on day D.
- `calendar`: a group's work days minus Finnish public holidays (including Juhannusaatto and
  Jouluaatto, as `holidays.Finland` reports them) and closure days, a client's days, meeting
  windows as aware UTC.
- `periods`: the 3-24 month / 1-4 days / 4 hours frame. All date ranges are inclusive at both ends.
- `consent`: nothing is provisioned before the data-protection briefing is recorded.
- `attendance`: minutes in the meeting, the day's status with Finnish reasons, absence
  streaks, the daily compensation in Decimal.
"""
