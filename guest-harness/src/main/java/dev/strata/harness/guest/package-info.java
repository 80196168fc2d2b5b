/**
 * The synthetic guest: drivers, workloads and the verifier that judges "nothing lost".
 *
 * <pre>
 *  Workload (iodepth guest threads, fio-like WorkloadSpec)
 *     │  stamp (Verifier.beginWrite) / check (Verifier.checkRead)
 *     ▼
 *  GuestDisk ── VirtioBlkDriver: header + data + status descriptors in GuestMemory,
 *     │                          AvailRing.publish(head), park until GuestInterrupt.used(head)
 *     └──────── AtaDriver:       PRD table + READ/WRITE DMA (EXT), one command at a time, wait for IRQ
 *
 *  Guest ties them together: attach(device) picks the driver, start(spec) runs a workload
 *  (baseline read of its window first when verify=on), verifyAll() is the final full pass.
 * </pre>
 */
package dev.strata.harness.guest;
