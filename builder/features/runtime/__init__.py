"""How a network runs: eager PyTorch or ONNX Runtime, in fp32, bf16 or int8, chosen for this machine; model files
made in a child process.
"""
