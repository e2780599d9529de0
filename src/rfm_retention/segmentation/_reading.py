"""One place that turns a malformed stored document into a ConfigError naming what is wrong."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from rfm_retention.errors import ConfigError

__all__ = ["reading"]


@contextlib.contextmanager
def reading(what: str) -> Iterator[None]:
    """Inside, a missing key or a wrongly typed value becomes ``ConfigError("<what> ...")``.

    Example:
        >>> with reading("cut points"):
        ...     {}["edges"]
        Traceback (most recent call last):
        ...
        rfm_retention.errors.ConfigError: cut points are missing the key 'edges'
    """
    try:
        yield
    except ConfigError:
        raise
    except KeyError as exc:
        raise ConfigError(f"{what} are missing the key {exc.args[0]!r}") from None
    except (TypeError, ValueError, AttributeError) as exc:
        raise ConfigError(f"{what} are malformed: {exc}") from None
