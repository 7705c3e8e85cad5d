"""The web app's page: layout and wiring (:mod:`ui.layout`), event handlers (:mod:`ui.handlers`, the core of
:class:`Studio`: the Run button; with its parts :mod:`ui.models`, which model serves, :mod:`ui.marking`, marks, Undo
and Accept, and :mod:`ui.writer`, the writing actions), HTML (:mod:`ui.render`), Plotly figures (:mod:`ui.plots`),
selection to markup (:mod:`ui.drafting`), the session's downloads (:mod:`ui.session_files`) and the guidance
package's controls (:mod:`ui.guided`). ``app.py`` only loads the model and launches."""

from .handlers import EXAMPLES, Studio
from .layout import CSS_PATH, THEME, Page, build_ui

__all__ = ["CSS_PATH", "EXAMPLES", "THEME", "Page", "Studio", "build_ui"]
