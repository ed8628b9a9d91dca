"""Report wording in English, Dutch and French.

Reports leave the workshop (to the battery owner, the fleet operator, an insurer), so their fixed
wording is translated here, independent of the GUI's Qt translations. Keys that the procedure uses
as names (measurement names, step names, outcomes) are translated when known and otherwise shown
as readable text, so a new check added by the procedure still appears in every language.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from bmsflasher.core.errors import BmsFlasherError
from bmsflasher.core.i18n import t

_EN: Final = {
    # headings and fields
    "title": "Battery service report",
    "session": "Session",
    "summary": "Summary",
    "device": "Device",
    "serial": "Serial number",
    "model": "Model",
    "hardware_revision": "Hardware revision",
    "bootloader_version": "Bootloader version",
    "operator": "Operator",
    "kind": "Service",
    "started": "Started",
    "finished": "Finished",
    "duration": "Duration",
    "outcome": "Outcome",
    "version_before": "Firmware before",
    "version_after": "Firmware after",
    "package_sha256": "Package SHA-256",
    "not_recorded": "not recorded",
    "seconds": "s",
    "chart_title": "Cell voltages before and after",
    "chart_missing": "No cell voltages were recorded for this session.",
    "cell": "Cell",
    "cell_voltage_mv": "Cell voltage (mV)",
    "difference_mv": "Difference (mV)",
    "pack": "Pack",
    "pack_voltage_mv": "Pack voltage (mV)",
    "cell_sum_mv": "Sum of cells (mV)",
    "cell_delta_mv": "Cell spread (mV)",
    "soc_pct": "State of charge (%)",
    "temperatures_c": "Temperatures (°C)",
    "current_ma": "Current (mA)",
    "sensor_failed": "failed",
    "measurements": "Measurements",
    "check": "Check",
    "measured": "Measured",
    "limit": "Limit",
    "result": "Result",
    "why": "Why it matters",
    "pass": "pass",
    "fail": "FAIL",
    "overridable": "may be overridden",
    "steps": "Procedure steps",
    "time": "Time",
    "step": "Step",
    "detail": "Detail",
    "started_state": "started",
    "ok_state": "done",
    "failed_state": "FAILED",
    "backups": "Configuration backups",
    "backup_id": "Backup",
    "schema_version": "Schema",
    "parameters": "Parameters",
    "sha256": "SHA-256",
    "created": "Created",
    "no_backup": "No configuration backup was made in this session.",
    "details": "Session details",
    "audit": "Audit trail",
    "audit_text": "Hash of the latest audit record when this report was made (keep it to prove the "
    "history was not changed later)",
    "generated": "Report generated",
    "before": "before",
    "after": "after",
    # outcomes
    "outcome.updated": "Updated",
    "outcome.refused": "Refused by a precondition",
    "outcome.rolled_back": "Rolled back to the previous firmware",
    "outcome.failed": "Failed",
    "outcome.aborted": "Aborted",
    "outcome.completed": "Completed",
    "outcome.ok": "Completed",
    "outcome.cancelled": "Cancelled by the technician",
    "outcome.backed_up": "Configuration backed up",
    "outcome.restored": "Configuration restored",
    "outcome.config_written": "Configuration changed",
    "outcome.interrupted": "Interrupted (no outcome recorded)",
    # session kinds
    "kind.update": "Firmware update",
    "kind.rollback": "Rollback",
    "kind.backup": "Configuration backup",
    "kind.restore": "Configuration restore",
    "kind.config_write": "Configuration change",
    "kind.diagnose": "Diagnosis",
    # procedure steps
    "step.verify_package": "Verify package",
    "step.identify": "Identify device",
    "step.preconditions": "Preconditions",
    "step.backup": "Configuration backup",
    "step.transfer": "Transfer",
    "step.reboot": "Reboot and reconnect",
    "step.self_test": "Self-test",
    "step.selftest": "Self-test",
    "step.confirm": "Confirm image",
    "step.rollback": "Rollback",
    "step.config_check": "Configuration check",
    "step.restore": "Configuration restore",
    "step.config_restore": "Configuration restore",
    "step.report": "Report",
    # measurement names (precondition gates and self-test checks)
    "m.model": "Model matches the package",
    "m.hardware_revision": "Hardware revision matches",
    "m.device_mode": "Device mode",
    "m.bootloader_version": "Bootloader version",
    "m.anti_rollback": "Anti-rollback (security counter)",
    "m.state_of_charge": "State of charge",
    "m.temperature": "Temperature (every sensor)",
    "m.load_current": "Pack current (no load)",
    "m.critical_dtcs": "Critical trouble codes",
    "m.cell_voltage_stability": "Cell voltage stability",
    "m.supply_stability": "Supply voltage stability",
    "m.link_quality": "Link quality",
    "m.voltage_calibration": "Voltage calibration (cell sum vs pack)",
    "m.reference_voltage": "Reference voltage",
    "m.temperature_sensors": "Temperature sensors",
    "m.communication_speed": "Communication speed",
    "m.balancing": "Cell balancing",
    "m.new_dtcs": "New trouble codes",
}

_NL: Final = {
    "title": "Servicerapport batterij",
    "session": "Sessie",
    "summary": "Samenvatting",
    "device": "Apparaat",
    "serial": "Serienummer",
    "model": "Model",
    "hardware_revision": "Hardwarerevisie",
    "bootloader_version": "Bootloaderversie",
    "operator": "Technicus",
    "kind": "Dienst",
    "started": "Gestart",
    "finished": "Beëindigd",
    "duration": "Duur",
    "outcome": "Resultaat",
    "version_before": "Firmware vooraf",
    "version_after": "Firmware achteraf",
    "package_sha256": "SHA-256 van het pakket",
    "not_recorded": "niet vastgelegd",
    "seconds": "s",
    "chart_title": "Celspanningen voor en na",
    "chart_missing": "Voor deze sessie zijn geen celspanningen vastgelegd.",
    "cell": "Cel",
    "cell_voltage_mv": "Celspanning (mV)",
    "difference_mv": "Verschil (mV)",
    "pack": "Pakket",
    "pack_voltage_mv": "Pakketspanning (mV)",
    "cell_sum_mv": "Som van de cellen (mV)",
    "cell_delta_mv": "Spreiding cellen (mV)",
    "soc_pct": "Laadtoestand (%)",
    "temperatures_c": "Temperaturen (°C)",
    "current_ma": "Stroom (mA)",
    "sensor_failed": "defect",
    "measurements": "Metingen",
    "check": "Controle",
    "measured": "Gemeten",
    "limit": "Grens",
    "result": "Resultaat",
    "why": "Waarom het ertoe doet",
    "pass": "in orde",
    "fail": "AFGEKEURD",
    "overridable": "mag worden overbrugd",
    "steps": "Stappen van de procedure",
    "time": "Tijd",
    "step": "Stap",
    "detail": "Toelichting",
    "started_state": "gestart",
    "ok_state": "klaar",
    "failed_state": "MISLUKT",
    "backups": "Back-ups van de configuratie",
    "backup_id": "Back-up",
    "schema_version": "Schema",
    "parameters": "Parameters",
    "sha256": "SHA-256",
    "created": "Gemaakt",
    "no_backup": "In deze sessie is geen back-up van de configuratie gemaakt.",
    "details": "Sessiegegevens",
    "audit": "Audittrail",
    "audit_text": "Hash van het laatste auditrecord bij het maken van dit rapport (bewaar hem om te "
    "bewijzen dat de historie later niet is gewijzigd)",
    "generated": "Rapport gemaakt",
    "before": "voor",
    "after": "na",
    "outcome.updated": "Bijgewerkt",
    "outcome.refused": "Geweigerd door een voorwaarde",
    "outcome.rolled_back": "Teruggezet naar de vorige firmware",
    "outcome.failed": "Mislukt",
    "outcome.aborted": "Afgebroken",
    "outcome.completed": "Voltooid",
    "outcome.ok": "Voltooid",
    "outcome.cancelled": "Geannuleerd door de technicus",
    "outcome.backed_up": "Back-up van de configuratie gemaakt",
    "outcome.restored": "Configuratie hersteld",
    "outcome.config_written": "Configuratie gewijzigd",
    "outcome.interrupted": "Onderbroken (geen resultaat vastgelegd)",
    "kind.update": "Firmware-update",
    "kind.rollback": "Terugzetten",
    "kind.backup": "Back-up van de configuratie",
    "kind.restore": "Herstel van de configuratie",
    "kind.config_write": "Wijziging van de configuratie",
    "kind.diagnose": "Diagnose",
    "step.verify_package": "Pakket controleren",
    "step.identify": "Apparaat identificeren",
    "step.preconditions": "Voorwaarden",
    "step.backup": "Back-up van de configuratie",
    "step.transfer": "Overdracht",
    "step.reboot": "Herstarten en opnieuw verbinden",
    "step.self_test": "Zelftest",
    "step.selftest": "Zelftest",
    "step.confirm": "Image bevestigen",
    "step.rollback": "Terugzetten",
    "step.config_check": "Configuratie controleren",
    "step.restore": "Configuratie herstellen",
    "step.config_restore": "Configuratie herstellen",
    "step.report": "Rapport",
    "m.model": "Model past bij het pakket",
    "m.hardware_revision": "Hardwarerevisie past",
    "m.device_mode": "Apparaatmodus",
    "m.bootloader_version": "Bootloaderversie",
    "m.anti_rollback": "Anti-rollback (beveiligingsteller)",
    "m.state_of_charge": "Laadtoestand",
    "m.temperature": "Temperatuur (elke sensor)",
    "m.load_current": "Pakketstroom (onbelast)",
    "m.critical_dtcs": "Kritieke foutcodes",
    "m.cell_voltage_stability": "Stabiliteit van de celspanning",
    "m.supply_stability": "Stabiliteit van de voedingsspanning",
    "m.link_quality": "Kwaliteit van de verbinding",
    "m.voltage_calibration": "Spanningskalibratie (som cellen t.o.v. pakket)",
    "m.reference_voltage": "Referentiespanning",
    "m.temperature_sensors": "Temperatuursensoren",
    "m.communication_speed": "Communicatiesnelheid",
    "m.balancing": "Celbalancering",
    "m.new_dtcs": "Nieuwe foutcodes",
}

_FR: Final = {
    "title": "Rapport d'intervention batterie",
    "session": "Session",
    "summary": "Résumé",
    "device": "Appareil",
    "serial": "Numéro de série",
    "model": "Modèle",
    "hardware_revision": "Révision matérielle",
    "bootloader_version": "Version du chargeur d'amorçage",
    "operator": "Technicien",
    "kind": "Intervention",
    "started": "Début",
    "finished": "Fin",
    "duration": "Durée",
    "outcome": "Résultat",
    "version_before": "Micrologiciel avant",
    "version_after": "Micrologiciel après",
    "package_sha256": "SHA-256 du paquet",
    "not_recorded": "non enregistré",
    "seconds": "s",
    "chart_title": "Tensions des cellules avant et après",
    "chart_missing": "Aucune tension de cellule n'a été enregistrée pour cette session.",
    "cell": "Cellule",
    "cell_voltage_mv": "Tension de cellule (mV)",
    "difference_mv": "Écart (mV)",
    "pack": "Batterie",
    "pack_voltage_mv": "Tension de la batterie (mV)",
    "cell_sum_mv": "Somme des cellules (mV)",
    "cell_delta_mv": "Dispersion des cellules (mV)",
    "soc_pct": "État de charge (%)",
    "temperatures_c": "Températures (°C)",
    "current_ma": "Courant (mA)",
    "sensor_failed": "défaillant",
    "measurements": "Mesures",
    "check": "Contrôle",
    "measured": "Mesuré",
    "limit": "Limite",
    "result": "Résultat",
    "why": "Pourquoi c'est important",
    "pass": "conforme",
    "fail": "NON CONFORME",
    "overridable": "dérogation possible",
    "steps": "Étapes de la procédure",
    "time": "Heure",
    "step": "Étape",
    "detail": "Détail",
    "started_state": "commencée",
    "ok_state": "terminée",
    "failed_state": "ÉCHEC",
    "backups": "Sauvegardes de la configuration",
    "backup_id": "Sauvegarde",
    "schema_version": "Schéma",
    "parameters": "Paramètres",
    "sha256": "SHA-256",
    "created": "Créée",
    "no_backup": "Aucune sauvegarde de la configuration n'a été faite pendant cette session.",
    "details": "Détails de la session",
    "audit": "Journal d'audit",
    "audit_text": "Empreinte du dernier enregistrement d'audit au moment de ce rapport (conservez-la "
    "pour prouver que l'historique n'a pas été modifié ensuite)",
    "generated": "Rapport généré",
    "before": "avant",
    "after": "après",
    "outcome.updated": "Mis à jour",
    "outcome.refused": "Refusé par une condition préalable",
    "outcome.rolled_back": "Retour au micrologiciel précédent",
    "outcome.failed": "Échec",
    "outcome.aborted": "Interrompu",
    "outcome.completed": "Terminé",
    "outcome.ok": "Terminé",
    "outcome.cancelled": "Annulé par le technicien",
    "outcome.backed_up": "Configuration sauvegardée",
    "outcome.restored": "Configuration restaurée",
    "outcome.config_written": "Configuration modifiée",
    "outcome.interrupted": "Interrompu (aucun résultat enregistré)",
    "kind.update": "Mise à jour du micrologiciel",
    "kind.rollback": "Retour arrière",
    "kind.backup": "Sauvegarde de la configuration",
    "kind.restore": "Restauration de la configuration",
    "kind.config_write": "Modification de la configuration",
    "kind.diagnose": "Diagnostic",
    "step.verify_package": "Vérification du paquet",
    "step.identify": "Identification de l'appareil",
    "step.preconditions": "Conditions préalables",
    "step.backup": "Sauvegarde de la configuration",
    "step.transfer": "Transfert",
    "step.reboot": "Redémarrage et reconnexion",
    "step.self_test": "Autotest",
    "step.selftest": "Autotest",
    "step.confirm": "Confirmation de l'image",
    "step.rollback": "Retour arrière",
    "step.config_check": "Contrôle de la configuration",
    "step.restore": "Restauration de la configuration",
    "step.config_restore": "Restauration de la configuration",
    "step.report": "Rapport",
    "m.model": "Modèle conforme au paquet",
    "m.hardware_revision": "Révision matérielle conforme",
    "m.device_mode": "Mode de l'appareil",
    "m.bootloader_version": "Version du chargeur d'amorçage",
    "m.anti_rollback": "Anti-retour arrière (compteur de sécurité)",
    "m.state_of_charge": "État de charge",
    "m.temperature": "Température (chaque capteur)",
    "m.load_current": "Courant de la batterie (sans charge)",
    "m.critical_dtcs": "Codes de défaut critiques",
    "m.cell_voltage_stability": "Stabilité de la tension des cellules",
    "m.supply_stability": "Stabilité de la tension d'alimentation",
    "m.link_quality": "Qualité de la liaison",
    "m.voltage_calibration": "Étalonnage de tension (somme des cellules / batterie)",
    "m.reference_voltage": "Tension de référence",
    "m.temperature_sensors": "Capteurs de température",
    "m.communication_speed": "Vitesse de communication",
    "m.balancing": "Équilibrage des cellules",
    "m.new_dtcs": "Nouveaux codes de défaut",
}

LANGUAGES: Final[Mapping[str, Mapping[str, str]]] = MappingProxyType(
    {"en": MappingProxyType(_EN), "nl": MappingProxyType(_NL), "fr": MappingProxyType(_FR)}
)
"""Label tables by ISO 639-1 language code."""


class Labels:
    """The wording of one report language, with readable fallbacks for keys it does not know."""

    def __init__(self, lang: str) -> None:
        """Pick the table for ``lang`` (e.g. ``"fr"`` or ``"fr_BE"``); unknown languages are refused."""
        code = lang.strip().lower().replace("-", "_").split("_")[0]
        if code not in LANGUAGES:
            known = ", ".join(sorted(LANGUAGES))
            raise BmsFlasherError(
                t(
                    "reports are not available in '{lang}'; choose one of {choices}",
                    lang=lang,
                    choices=known,
                )
            )
        self.code = code
        self._table = LANGUAGES[code]

    def __getitem__(self, key: str) -> str:
        """A fixed label; falls back to English so a missing translation never breaks a report."""
        return self._table.get(key) or _EN[key]

    def _named(self, prefix: str, name: str) -> str:
        found = self._table.get(f"{prefix}.{name}") or _EN.get(f"{prefix}.{name}")
        return found or _humanize(name)

    def outcome(self, outcome: str | None) -> str:
        """The outcome in words; None (never finished) reads as interrupted."""
        return self._named("outcome", outcome or "interrupted")

    def kind(self, kind: str) -> str:
        """The session kind in words."""
        return self._named("kind", kind)

    def step(self, step: str) -> str:
        """A procedure step name in words."""
        return self._named("step", step)

    def measurement(self, name: str) -> str:
        """A measurement name in words (device-side self-test checks keep their own names)."""
        return self._named("m", name)


def _humanize(name: str) -> str:
    """``"cell_voltage_stability"`` → ``"Cell voltage stability"``, for names no table knows."""
    text = name.replace("_", " ").strip()
    return text[:1].upper() + text[1:] if text else name
