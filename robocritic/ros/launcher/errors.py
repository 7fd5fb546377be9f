"""The one error type of the launcher: every problem names the file, the line and the entity."""

from __future__ import annotations

from robocritic.utils.safe_yaml import shorten


class LaunchError(ValueError):
    """A launch file is malformed, uses an unsupported feature, or cannot be resolved.

    The message starts with ``FILE:LINE:`` and the entity path (``launch[2].node.param[0]``) when
    the problem has a place in a file, e.g.::

        launch/demo.launch.yaml:14: launch[2].node: unsupported key 'respawn' (supported: env, exec, ...)
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        # Both parts quote what a file or the command line holds, which can be arbitrarily long.
        self.where = None if where is None else shorten(where, 400)
        message = shorten(message, 1000)
        super().__init__(f"{self.where}: {message}" if self.where else message)


__all__ = ["LaunchError"]
