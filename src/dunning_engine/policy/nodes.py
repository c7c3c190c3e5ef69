"""The positioned node tree both policy forms are read into before they are checked."""
from .yaml_source import MapNode, Node, ScalarNode, SeqNode, describe

__all__ = ["Node", "MapNode", "SeqNode", "ScalarNode", "describe"]
