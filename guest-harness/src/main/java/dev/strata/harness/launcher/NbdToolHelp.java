package dev.strata.harness.launcher;

/** {@code strata nbd --help}: qemu-nbd 7.2's option list, marking what Strata refuses. */
final class NbdToolHelp {

    private NbdToolHelp() {
    }

    static final String TEXT = """
            Usage: strata nbd [OPTIONS] FILE
              or:  strata nbd -L [OPTIONS]
            Serve a disk image over NBD (the qemu-nbd 7.2 command line)

              -h, --help                display this help and exit
              -V, --version             output version information and exit

            Connection properties:
              -p, --port=PORT           port to listen on (default `10809')
              -b, --bind=IFACE          interface to bind to (default `0.0.0.0')
              -k, --socket=PATH         path to the unix socket
              -e, --shared=NUM          device can be shared by NUM clients (default '1', 0 = no limit)
              -t, --persistent          don't exit on the last connection
              -v, --verbose             display extra debugging information
              -x, --export-name=NAME    expose export by name (default is empty string)
              -D, --description=TEXT    export a human-readable description

            Exposing part of the image:
              -A, --allocation-depth    expose the allocation depth
              -B, --bitmap=NAME         expose a persistent dirty bitmap (Strata has none: always 'not found')

            General purpose options:
              -L, --list                list exports available from another NBD server
              --object type,id=ID,...   define an object: tls-creds-x509, authz-simple, authz-list
              --tls-creds=ID            use id of an earlier --object to provide TLS
              --tls-authz=ID            use id of an earlier --object to provide authorization
              --fork                    fork off the server process and exit the parent
                                        once the server is running
              --pid-file=PATH           store the server's process ID in the given file

            Block device options:
              -f, --format=FORMAT       set image format (raw, qcow2, ...)
              -r, --read-only           export read-only
              -s, --snapshot            use FILE as an external snapshot, create a temporary
                                        file with backing_file=FILE, redirect the write to
                                        the temporary one
              -n, --nocache             disable host cache
                  --cache=MODE          set cache mode used to access the disk image, the
                                        valid options are: 'none', 'writeback' (default),
                                        'writethrough', 'directsync' and 'unsafe'
                  --aio=MODE            set AIO mode (native, io_uring or threads)
                  --discard=MODE        set discard mode (ignore, unmap)
                  --detect-zeroes=MODE  set detect-zeroes mode (off, on, unmap)
                  --image-opts          treat FILE as a full set of image options

            Not supported by Strata (refused with an error): -c/--connect and -d/--disconnect
            (kernel NBD devices), -o/--offset, -l/--load-snapshot, -T/--trace, --selinux-label.
            See docs/nbd.md.
            """;
}
