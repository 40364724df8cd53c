"""Client import from CSV: `integrator import clients FILE.csv [--org KEY] [--dry-run]`.

The file is UTF-8 (with or without the BOM Excel writes), or Windows-1252 (Excel's plain
"CSV"; read with a notice), separated by `;` or `,` (sniffed from the header row). A header row is required; column names are case-insensitive and
only `code` is required. A column that is absent, or a cell that is empty, leaves the stored
value unchanged (empty on a new client).

=====================  =========================================================================
column                 value
=====================  =========================================================================
code                   pseudonymous client code, required: A-Z, 0-9 and '-', 2-32 characters,
                       e.g. RAI-0001. Logs, folder names and URLs use only this.
display_name           the name used in letters; defaults to the code for a new client
email                  the client's email address (letters, reminders, attendance matching)
phone                  phone number, e.g. +358 40 123 4567
google_user_id         the client's Google Workspace user id, when known
entra_object_id        the client's Microsoft Entra object id (a GUID), when known
plain_language         selkokieli: kyllä/ei, yes/no, true/false, 1/0
digital_support        a_lot | a_little | none | helps_others
                       (also paljon | vähän | ei | auttaa_muita)
loan_device_note       a short note of a loan device (lainalaite), at most 200 characters
group                  the key of the peer group (from the config) the client belongs to
service_model          long_term | short_term | interval | hybrid
                       (also pitkä | lyhyt | intervalli | hybridi)
period_start           first day of the period (jakso): 2026-01-13 or 13.1.2026
period_end             last day of the period (inclusive), same forms
weekdays               the period's work-activity weekdays: "ti,to", "2,4", "tuesday,thursday"
hours_per_day          hours per work-activity day, e.g. 4 or 4,5; default: the rules' minimum
briefing_recorded_at   when the data-protection briefing was given: a date or a date and time
                       (2026-01-10, 2026-01-10 14:30, 10.1.2026 14:30; Finnish time unless an
                       offset is given). Empty: not yet briefed. Allowed, but nothing is
                       provisioned for the client until it is recorded (the consent gate).
briefing_recorded_by   email of the staff user who gave the briefing (required with the above),
                       a staff user of the client's organisation
responsible_worker     email of the responsible social worker (omatyöntekijä), who gets the
                       client's absence alerts: a staff user of the client's organisation or of
                       one its config lists under `responsible_workers_from`. Installation-wide
                       admins (no organisation) are neither: they work for no client's organisation.
group_from             the day the row's `group` applies from: a move (2026-12-01 or 1.12.2026),
                       inside the period. Optional; see "Moves" below.
=====================  =========================================================================

Limits (reading.MAX_FILE_BYTES, MAX_ROWS): at most 5 MiB and 20,000 rows, refused before
parsing. Dates lie between 1.1.1990 and 31.12.2100. No cell holds a control character or a
text-direction override.

A row with `period_start` describes a period; `period_end`, `weekdays` and `service_model` are
then required. A client with several periods has one row per period.

Natural keys, so that importing the same file again changes nothing: a client is
(organisation, code); a period is (client, period_start); a group membership is
(group, client, start) and the last one of a period follows the period's end.

Moves. A client who moves to another group from a date keeps the days before it exactly as they
were documented and paid, so the file says the date: `group_from`. The membership of that day
ends the day before and a new one (recorded on the import's day) starts on it, as with
`integrator clients move`; the period's weekdays become the row's plus those it listed before (the
earlier days were worked on them). The course and the folder follow at the next weekly setup, or
the first nightly sync after the move's day. A row that names another group than the client's
current one WITHOUT `group_from` is refused (line, column `group`, with the hint to add
`group_from`): moving the whole membership would rewrite the past, and a move "from the import's
day" would silently pick a date nobody chose. A new client's first row needs no `group_from`.

Early ends (keskeytys) are made with `integrator clients end`, not by the file. A period ended
early keeps its early end when the file is imported again: `period_end` may then give either the
planned end or the early end (no minimum length applies to an interruption); any other end is
refused until the early end is undone (`integrator clients end CODE --undo`).

Every row is checked before anything is written; if any row is bad, every problem is
reported in Finnish (line, column, reason, what was expected) and nothing is written. Problems name
rows by line and client code only, never by a person's name or email.
"""

from integrator.clients_import.reading import RowProblem
from integrator.clients_import.writing import ImportResult, import_clients

__all__ = ["ImportResult", "RowProblem", "import_clients"]
