"""Turn any source into Resources: hardened loading, namespaces, pod specs, indexes.

Imports nothing else of the project: every later stage depends on this one.
"""

from .errors import InputError, InputWarning, Location
from .inventory import DEFAULT_NAMESPACE, Duplicate, Inventory
from .loader import LoadOptions, LoadResult, RawObject, load_paths, load_text
from .podspec import CONTAINER_FIELDS, ContainerRef, PodTemplate, find_pod_template, iter_containers
from .resource import Resource
from .yamlsafe import ParseLimits

__all__ = [
    "CONTAINER_FIELDS",
    "ContainerRef",
    "DEFAULT_NAMESPACE",
    "Duplicate",
    "InputError",
    "InputWarning",
    "Inventory",
    "LoadOptions",
    "LoadResult",
    "Location",
    "ParseLimits",
    "PodTemplate",
    "RawObject",
    "Resource",
    "find_pod_template",
    "iter_containers",
    "load_paths",
    "load_text",
]
