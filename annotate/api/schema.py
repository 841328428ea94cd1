"""Post-processing of the OpenAPI schema (SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"])."""

from typing import Any

# Request bodies whose serializer refuses fields it does not know.
CLOSED_REQUESTS = [
    "PatchedProjectSettingsRequest",
    "ProjectCreateRequest",
    "NewLabelRequest",
    "CloneRequest",
    "ArchiveRequest",
    "MemberAddRequest",
    "PersonCreateRequest",
    "ActiveRequest",
]


def closed_request_bodies(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Say ``additionalProperties: false`` where the API answers an unknown field with 400."""
    schemas = result.get("components", {}).get("schemas", {})
    for name in CLOSED_REQUESTS:
        if name in schemas:
            schemas[name]["additionalProperties"] = False
    return result
