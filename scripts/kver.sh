#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Print the newest installed Debian kernel of a series (6.1, 6.12) that has
# both its image and its headers, e.g. "6.1.0-56-amd64". Nothing if none.
series=$(echo "${1:?usage: kver.sh SERIES}" | sed 's/\./\\./g')
for v in $(ls /lib/modules 2>/dev/null | grep -E "^${series}\.[0-9]+[-+].*amd64$" | sort -V -r); do
	if [ -e "/boot/vmlinuz-$v" ] && [ -e "/lib/modules/$v/build/Makefile" ]; then
		echo "$v"
		exit 0
	fi
done
