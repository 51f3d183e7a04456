#!/usr/bin/env python3
#
# Apport package hook for DKMS (installed as
# /usr/share/apport/package-hooks/dkms_packages.py).
#
# dkms runs this when a module fails to build, as
#   python3 dkms_packages.py -m MODULE -v VERSION [-k KERNEL]
# It files a crash report against the distribution package that ships
# /usr/src/MODULE-VERSION, with the build log attached.
#
# Exit status: 0 report written, 1 nothing to report (package or kernel not
# supported, or the compiler crashed), 2 bad arguments, 3 unknown source
# package. Messages go to stderr prefixed with "ERROR (dkms apport): ".

import argparse
import os
import sys

DKMS_TREE = '/var/lib/dkms'


def fail(message, status):
    sys.stderr.write('ERROR (dkms apport): %s\n' % message)
    sys.exit(status)


def parse_arguments():
    parser = argparse.ArgumentParser(
        usage='%(prog)s [options]',
        description='Report a DKMS module build failure to apport.')
    parser.add_argument('-m', dest='module',
                        help='DKMS module whose package is reported')
    parser.add_argument('-v', dest='version',
                        help='version of that DKMS module')
    parser.add_argument('-k', dest='kernel',
                        help='kernel version the build failed for')
    # Extra words are tolerated rather than treated as errors.
    return parser.parse_known_args()[0]


def kernel_is_supported(apport, kernel):
    # Only kernels whose headers come from the distribution are worth a
    # report; custom kernels are the user's own business.
    headers = 'linux-headers-' + kernel
    try:
        supported = apport.packaging.is_distro_package(headers)
    except ValueError as error:
        supported = str(error) != 'package %s does not exist' % headers
    if not supported:
        fail('kernel package %s is not supported' % headers, 1)


def first_compiler_error(log):
    for line in log.split('\n'):
        if ': error:' in line:
            return line.strip()
    return None


def main():
    options = parse_arguments()
    if not options.module or not options.version:
        fail('both -m and -v are required', 2)

    # Imported only now so the argument check works without apport.
    import apport
    import apport.fileutils
    from apport.hookutils import attach_file_if_exists

    package = apport.packaging.get_file_package(
        '/usr/src/%s-%s' % (options.module, options.version))
    if package is None:
        fail('binary package for %s: %s not found'
             % (options.module, options.version), 1)

    if options.kernel:
        kernel_is_supported(apport, options.kernel)

    build_dir = os.path.join(DKMS_TREE, options.module, options.version,
                             'build')

    report = apport.Report('Package')
    try:
        version = apport.packaging.get_version(package)
    except ValueError:
        version = None
    if version is None:
        version = '(not installed)'
    report['Package'] = '%s %s' % (package, version)
    try:
        report['SourcePackage'] = apport.packaging.get_source(package)
    except ValueError:
        fail('unable to determine source package for %s' % package, 3)

    if report['SourcePackage'] == 'fglrx-installer':
        attach_file_if_exists(report, os.path.join(build_dir, 'make.sh.log'),
                              'FglrxBuildLog')

    report['PackageVersion'] = version
    report['Title'] = '%s %s: %s kernel module failed to build' % (
        package, version, options.module)
    attach_file_if_exists(report, os.path.join(build_dir, 'make.log'),
                          'DKMSBuildLog')
    if 'DKMSBuildLog' in report:
        log = report['DKMSBuildLog']
        if 'Segmentation fault' in log:
            fail('There was a segmentation fault when trying to build the '
                 'module', 1)
        signature = first_compiler_error(log)
        if signature is not None:
            report['DuplicateSignature'] = 'dkms:%s:%s:%s' % (
                package, version, signature)

    if options.kernel:
        report['DKMSKernelVersion'] = options.kernel

    try:
        with apport.fileutils.make_report_file(report) as report_file:
            report.write(report_file)
    except OSError as error:
        apport.fatal('Cannot create report: ' + str(error))


if __name__ == '__main__':
    main()
