"""Settings and tenant configuration: models (pydantic), the loader and its checks, and `apply`
(which brings the store in line with the file; import it from `integrator.config.apply`).

The names below are the package's public face, so callers write `from integrator.config import
Settings, load_settings` without knowing which module holds what.
"""

from integrator.config.loader import (
    DEFAULT_CONFIG_PATH,
    check_config,
    config_path,
    load_settings,
    organisation_dir,
)
from integrator.config.models import (
    KEY_PATTERN,
    GoogleTenant,
    GroupConfig,
    MailConfig,
    Meeting,
    MicrosoftTenant,
    OrganisationConfig,
    Rules,
    Schedule,
    SecretRef,
    Settings,
    SignIn,
    SignInProvider,
    StaffConfig,
    TaskFolders,
    WeeklyAt,
)
from integrator.config.problems import ConfigError, Problem, key_path

__all__ = [
    "DEFAULT_CONFIG_PATH", "KEY_PATTERN", "ConfigError", "GoogleTenant", "GroupConfig", "MailConfig", "Meeting",
    "MicrosoftTenant", "OrganisationConfig", "Problem", "Rules", "Schedule", "SecretRef", "Settings", "SignIn", "SignInProvider",
    "StaffConfig", "TaskFolders", "WeeklyAt", "check_config", "config_path", "key_path", "load_settings", "organisation_dir",
]
