"""The response stage: incidents, the graduated response policy, the audit trail.

- `response.records`: the tables (Incident, Action, VerdictRecord).
- `response.policy`: the tier-to-action table per identity kind, `plan_actions`.
- `response.service`: `respond`, which opens or updates incidents and records actions.
- `response.queries`: listing incidents, verdicts, releasing identities.
- `response.flows`: the same, taking settings and committing, for commands and the API.

Nothing is imported here, so importing one module does not pull in the database.
"""
