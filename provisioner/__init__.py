"""provisioner: bootstrap AWS IAM Identity Center and keep it in a declared shape."""

__version__ = "0.1.0"
