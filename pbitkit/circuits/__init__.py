"""circuits: transistor-level p-bit cells characterized in ngspice (see ``docs/circuits.md``)."""
from pbitkit.circuits.ngspice import SimJob, SimResult, ngspice_version, run

__all__ = ["SimJob", "SimResult", "run", "ngspice_version"]
