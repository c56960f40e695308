#!/bin/sh
# In the spirit of PyTorch's bin/test_script.sh: touch a file named by the global rank in $1.
set -e
touch_file="$1/$RANK"
echo "creating $touch_file"
touch "$touch_file"
