"""The report: profiles, the papermill runner, and what notebooks write (``Section``)."""
from .profiles import REPO_ROOT, available_profiles, load_profile, notebook_paths
from .section import Section, report_dir

__all__ = ["REPO_ROOT", "available_profiles", "load_profile", "notebook_paths", "Section", "report_dir"]
