"""Demands (诉求) and the tiered whistle (分级吹哨响应): workflow, events, deadlines, departments, callbacks."""
