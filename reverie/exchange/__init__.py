"""Taking a client's record out of reverie: JSON, Markdown and FHIR R4 exports.

This layer imports only the domain, storage and instruments layers. Psychotherapy notes are
never read here, so no export can carry them.
"""
