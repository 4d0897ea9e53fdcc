"""Formulation: PDM-2 hypotheses from the case's material, and the clinician's sign-off.

``propose_formulation`` proposes (everything ``UNCONFIRMED``, with evidence); a clinician
confirms, edits or rejects each item and signs the formulation off; ``client_view`` shows the
client only what was signed off. See docs/formulation.md.
"""

from reverie.formulation.hypotheses import propose_formulation
from reverie.formulation.pdm2 import Pdm2, load_pdm2
from reverie.formulation.signoff import (
    ClientStatement,
    Formulation,
    FormulationItem,
    NotRated,
    Review,
    ReviewAction,
    Section,
    SignedFormulation,
    client_view,
)

__all__ = [
    "ClientStatement",
    "Formulation",
    "FormulationItem",
    "NotRated",
    "Pdm2",
    "Review",
    "ReviewAction",
    "Section",
    "SignedFormulation",
    "client_view",
    "load_pdm2",
    "propose_formulation",
]
