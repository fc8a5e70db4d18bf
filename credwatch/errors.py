"""Exceptions raised by credwatch.

    CredwatchError
    ├── InvalidEvent            a record that is not an Okta LogEvent
    ├── DeploymentMapError      a deployment map that cannot be loaded
    ├── ModelNotReady           no champion model is registered yet
    ├── UnreadableInput         an input file that cannot be opened or read
    ├── NoTrainingData          training input holds no event to learn from
    ├── QuarantineLost          quarantined records that did not reach the quarantine
    ├── SettingsError           a CREDWATCH_* variable that cannot be used
    └── IntegrationError        an outside service failed after its retries

Messages name the offending input and say what is wrong; they never hold secrets.
"""


class CredwatchError(Exception):
    """Root of every error credwatch raises on purpose."""


class InvalidEvent(CredwatchError):
    """A record that cannot be read as an Okta LogEvent."""


class DeploymentMapError(CredwatchError):
    """A deployment map file that is malformed or contradicts itself."""


class ModelNotReady(CredwatchError):
    """No model is registered under the champion alias."""


class UnreadableInput(CredwatchError):
    """An input file that exists but cannot be opened or read."""


class NoTrainingData(CredwatchError):
    """Training was given no event that names an actor."""


class QuarantineLost(CredwatchError):
    """Records the training processes quarantined did not reach the quarantine."""


class SettingsError(CredwatchError):
    """A `CREDWATCH_*` variable whose value cannot be used."""


class IntegrationError(CredwatchError):
    """An outside service (Okta, Jira, Notion, MLflow) failed."""
