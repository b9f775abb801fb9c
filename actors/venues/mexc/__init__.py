"""MEXC venues: spot v3 (protobuf pushes) and request signing."""
