"""One partition per release; the key is the git tag."""

import dagster as dg

releases = dg.DynamicPartitionsDefinition(name="releases")
