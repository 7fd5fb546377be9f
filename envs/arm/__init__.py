"""The planar 3-link torque-controlled arm: generic arm task (``task.py``), what the lateral-force
tasks share (``lateral_task.py``), its MuJoCo side (``mujoco_arm.py``), the free-space dynamics
model (``model.py``) and one file per versioned id (``press_wipe_v0.py``)."""
