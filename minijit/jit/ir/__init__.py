"""minijit's TorchScript IR: types, Graph/Block/Node/Value, the graph printer and parser."""
