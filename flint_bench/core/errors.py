"""Errors a user can fix. The CLI prints them as one paragraph and exits 2, without a traceback."""


class UserError(Exception):
    """Bad input: a config key, a model name, a missing file. Exit code 2."""

    exit_code = 2


class ConfigError(UserError):
    """A config file with a wrong, unknown or missing key. The message names the file and the key."""

    def __init__(self, file: str, key: str, problem: str):
        self.file, self.key, self.problem = str(file), key, problem
        super().__init__(f"{self.file}: key '{key}': {problem}")


class MissingDependency(UserError):
    """An optional package is not installed; the message says how to install it."""

    def __init__(self, what: str, package: str, extra: str | None = None):
        hint = f"pip install 'flint-bench[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{what} needs the optional package '{package}', which is not installed. Install it with: {hint}")
