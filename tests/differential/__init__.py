"""The differential suite: the same requests to the emulator and to a real kube-apiserver."""
