"""宁聚 (Ningju): the community-work platform behind Jiangning Road Sub-district's 宁聚·四百 action."""
