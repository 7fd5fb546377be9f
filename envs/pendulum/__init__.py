"""The clipped pendulum: one task (``task.py``) on MuJoCo and on PyBullet."""
