#!/bin/sh
# Writes a greeting with facts about the container it runs in, into the mounted results folder.
set -e
mkdir -p results
{
  echo "hello from $(hostname)"
  echo "kernel: $(uname -r)"
  echo "running as uid $(id -u) in $(pwd)"
} > results/greeting.txt
cat results/greeting.txt
