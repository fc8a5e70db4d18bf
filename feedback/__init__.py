"""Learning from analysts: verdicts in, suppressions, map proposals, summaries out.

- `feedback.labels`, `feedback.flows`: verdicts (CLI, API) kept as labelled spans.
- `feedback.jira_source`, `feedback.jira_feedback`: verdicts from resolved Jira tickets.
- `feedback.suppressions`, `feedback.proposals`: what "expected" verdicts lead to.
- `feedback.summary` and its parts (drift, patterns, metrics, plots, render,
  notion): the page after each retrain and each week; `feedback.schedule` runs it.

Retraining itself lives in `training` (training.retrain).
"""
