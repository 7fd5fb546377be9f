"""The one error type of the launcher: every problem names the file, the line and the entity."""

from __future__ import annotations


class LaunchError(ValueError):
    """A launch file is malformed, uses an unsupported feature, or cannot be resolved.

    The message starts with ``FILE:LINE:`` and the entity path (``launch[2].node.param[0]``) when
    the problem has a place in a file, e.g.::

        launch/demo.launch.yaml:14: launch[2].node: unsupported key 'respawn' (supported: env, exec, ...)
    """

    def __init__(self, message: str, where: str | None = None) -> None:
        self.where = where
        super().__init__(f"{where}: {message}" if where else message)


__all__ = ["LaunchError"]
