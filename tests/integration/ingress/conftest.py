"""The tools and embeddings services in-process, for the end-to-end tests of this package."""

from tests.integration.embeddings.conftest import embeddings_service  # noqa: F401 - fixture
from tests.integration.tools.conftest import tools_service  # noqa: F401 - fixture
