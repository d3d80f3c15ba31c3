/**
 * The SMBIOS system information (type 1) a guest sees, as Nova's libvirt driver gives it
 * (`<sysinfo type='smbios'>`): cloud-init's OpenStack datasource recognises an OpenStack guest on x86 by
 * its DMI product name ("OpenStack Nova") and only then asks http://169.254.169.254/ or reads a config
 * drive, so a stock cloud image needs these to find its metadata. The serial is the instance's uuid, as
 * Nova's default `[libvirt] sysinfo_serial = unique` makes it.
 */

/** The fields Nova's libvirt driver sets: manufacturer, product, serial, uuid and family. */
export function smbiosFields(uuid: string): Record<string, string> {
  return {
    manufacturer: 'OpenStack Foundation',
    product: 'OpenStack Nova',
    serial: uuid,
    uuid,
    family: 'Virtual Machine',
  };
}

/** The qemu `-smbios type=1,...` argument pair for the guest of instance `uuid`. */
export function smbiosArguments(uuid: string): string[] {
  const fields = Object.entries(smbiosFields(uuid)).map(([k, v]) => `${k}=${v.replaceAll(',', ',,')}`);
  return ['-smbios', ['type=1', ...fields].join(',')];
}
