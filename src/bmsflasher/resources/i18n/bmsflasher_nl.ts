<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="nl">
<context>
    <name>AlarmPanel</name>
    <message>
        <source>Alarm: %1</source>
        <translation>Alarm: %1</translation>
    </message>
    <message>
        <source>DTC %1 (%2): %3</source>
        <translation>DTC %1 (%2): %3</translation>
    </message>
    <message>
        <source>No active alarms and no stored trouble codes.</source>
        <translation>Geen actieve alarmen en geen opgeslagen foutcodes.</translation>
    </message>
</context>
<context>
    <name>AppModel</name>
    <message>
        <source>Unexpected error: %1</source>
        <translation>Onverwachte fout: %1</translation>
    </message>
    <message>
        <source>This is a bug in bmsflasher; the details are in the log.</source>
        <translation>Dit is een fout in bmsflasher; de details staan in het logboek.</translation>
    </message>
    <message>
        <source>No device is connected.</source>
        <translation>Er is geen apparaat verbonden.</translation>
    </message>
    <message>
        <source>Connect a device first.</source>
        <translation>Verbind eerst een apparaat.</translation>
    </message>
    <message>
        <source>An update is running.</source>
        <translation>Er loopt een update.</translation>
    </message>
    <message>
        <source>Wait until it has finished.</source>
        <translation>Wacht tot die klaar is.</translation>
    </message>
    <message>
        <source>A connection is being opened already.</source>
        <translation>Er wordt al een verbinding geopend.</translation>
    </message>
    <message>
        <source>Wait until it has answered or failed.</source>
        <translation>Wacht tot ze antwoordt of mislukt.</translation>
    </message>
    <message>
        <source>Connected to %1 (serial %2)</source>
        <translation>Verbonden met %1 (serienummer %2)</translation>
    </message>
    <message>
        <source>Nothing was written: %1 is outside what the battery accepts.</source>
        <translation>Er is niets geschreven: %1 valt buiten wat de batterij aanvaardt.</translation>
    </message>
    <message>
        <source>Correct the values marked in red.</source>
        <translation>Verbeter de rood gemarkeerde waarden.</translation>
    </message>
    <message>
        <source>Choose a valid package first.</source>
        <translation>Kies eerst een geldig pakket.</translation>
    </message>
    <message>
        <source>The rollback stopped with an unexpected error.</source>
        <translation>Het terugdraaien stopte met een onverwachte fout.</translation>
    </message>
</context>
<context>
    <name>BackupPage</name>
    <message>
        <source>Configuration backup</source>
        <translation>Back-up van de configuratie</translation>
    </message>
    <message>
        <source>Every parameter is read, stored with its checksum, and read back to verify.</source>
        <translation>Elke parameter wordt gelezen, met zijn controlesom opgeslagen en ter controle teruggelezen.</translation>
    </message>
    <message>
        <source>The procedure checks the package and the battery once more, then backs up the configuration so it can be restored whatever happens next.</source>
        <translation>De procedure controleert het pakket en de batterij nog één keer en maakt dan een back-up van de configuratie, zodat die hersteld kan worden wat er ook gebeurt.</translation>
    </message>
</context>
<context>
    <name>CampaignRows</name>
    <message>
        <source>Preconditions</source>
        <translation>Voorwaarden</translation>
    </message>
    <message>
        <source>Configuration backup</source>
        <translation>Back-up van de configuratie</translation>
    </message>
    <message>
        <source>Transfer</source>
        <translation>Overdracht</translation>
    </message>
    <message>
        <source>Test boot</source>
        <translation>Testopstart</translation>
    </message>
    <message>
        <source>Self-test</source>
        <translation>Zelftest</translation>
    </message>
    <message>
        <source>Confirm</source>
        <translation>Bevestigen</translation>
    </message>
    <message>
        <source>Configuration check</source>
        <translation>Controle van de configuratie</translation>
    </message>
    <message>
        <source>Revert</source>
        <translation>Terugzetten</translation>
    </message>
    <message>
        <source>Roll back</source>
        <translation>Terugdraaien</translation>
    </message>
    <message>
        <source>Package check</source>
        <translation>Controle van het pakket</translation>
    </message>
    <message>
        <source>Identify</source>
        <translation>Identificeren</translation>
    </message>
    <message>
        <source>Reboot</source>
        <translation>Herstarten</translation>
    </message>
    <message>
        <source>Configuration restore</source>
        <translation>Configuratie terugzetten</translation>
    </message>
    <message>
        <source>Confirmed</source>
        <translation>Bevestigd</translation>
    </message>
    <message>
        <source>Rolled back</source>
        <translation>Teruggedraaid</translation>
    </message>
    <message>
        <source>Untouched</source>
        <translation>Onaangeroerd</translation>
    </message>
    <message>
        <source>Refused</source>
        <translation>Geweigerd</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Mislukt</translation>
    </message>
    <message>
        <source>Updated, not confirmed</source>
        <translation>Bijgewerkt, niet bevestigd</translation>
    </message>
    <message>
        <source>Waiting</source>
        <translation>Wacht</translation>
    </message>
    <message>
        <source>Running…</source>
        <translation>Bezig…</translation>
    </message>
    <message>
        <source>Step done</source>
        <translation>Stap klaar</translation>
    </message>
    <message>
        <source>Step failed</source>
        <translation>Stap mislukt</translation>
    </message>
    <message>
        <source>Node</source>
        <translation>Node</translation>
    </message>
    <message>
        <source>Tier</source>
        <translation>Niveau</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Model</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>Stap</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Voortgang</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Resultaat</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>Waarom</translation>
    </message>
</context>
<context>
    <name>CampaignWizard</name>
    <message>
        <source>No node in fault</source>
        <translation>Geen node in storing</translation>
    </message>
    <message>
        <source>Every node answers</source>
        <translation>Elke node antwoordt</translation>
    </message>
    <message>
        <source>Every node runs the set</source>
        <translation>Elke node draait de set</translation>
    </message>
    <message>
        <source>Pack voltage = sum of modules</source>
        <translation>Pakketspanning = som van de modules</translation>
    </message>
    <message>
        <source>Communication between nodes</source>
        <translation>Communicatie tussen de nodes</translation>
    </message>
    <message>
        <source>Update the pack</source>
        <translation>Het batterijpakket bijwerken</translation>
    </message>
    <message>
        <source>1 · Release bundle</source>
        <translation>1 · Releasebundel</translation>
    </message>
    <message>
        <source>A release bundle holds one signed package per node type, released together. The campaign checks every node&apos;s preconditions, backs up every configuration, transfers to every node (BMUs first, the BCU last), test-boots and self-tests every node and the pack, and only then confirms them all. If anything fails before that, every node returns to its previous firmware: the pack never ends on a mix of versions.</source>
        <translation>Een releasebundel bevat één ondertekend pakket per nodetype, samen vrijgegeven. De campagne controleert de voorwaarden van elke node, maakt een back-up van elke configuratie, draagt over naar elke node (eerst de BMU&apos;s, de BCU als laatste), start elke node op proef op, voert de zelftests van elke node en van het batterijpakket uit en bevestigt pas daarna alles. Mislukt er eerder iets, dan keert elke node terug naar zijn vorige firmware: het batterijpakket eindigt nooit op een mengeling van versies.</translation>
    </message>
    <message>
        <source>&amp;Choose…</source>
        <translation>&amp;Kiezen…</translation>
    </message>
    <message>
        <source>No bundle chosen</source>
        <translation>Geen bundel gekozen</translation>
    </message>
    <message>
        <source>2 · Preconditions of every node</source>
        <translation>2 · Voorwaarden van elke node</translation>
    </message>
    <message>
        <source>3 · Update, node by node</source>
        <translation>3 · Bijwerken, node per node</translation>
    </message>
    <message>
        <source>Pack rollback</source>
        <translation>Batterijpakket terugdraaien</translation>
    </message>
    <message>
        <source>Pack checks</source>
        <translation>Controles van het batterijpakket</translation>
    </message>
    <message>
        <source>Node</source>
        <translation>Node</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>Controle</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Waarde</translation>
    </message>
    <message>
        <source>Limit</source>
        <translation>Grens</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Resultaat</translation>
    </message>
    <message>
        <source>Check the &amp;pack</source>
        <translation>Batterij&amp;pakket controleren</translation>
    </message>
    <message>
        <source>&amp;Update the pack</source>
        <translation>Batterijpakket &amp;bijwerken</translation>
    </message>
    <message>
        <source>Roll &amp;back the pack</source>
        <translation>Batterijpakket &amp;terugdraaien</translation>
    </message>
    <message>
        <source>&amp;Save service report…</source>
        <translation>Service&amp;rapport opslaan…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Annuleren</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Sluiten</translation>
    </message>
    <message>
        <source>The pack has not been read yet: the campaign finds its nodes itself.</source>
        <translation>Het batterijpakket is nog niet gelezen: de campagne zoekt zelf zijn nodes.</translation>
    </message>
    <message>
        <source>The pack on this bus has %1 nodes: %2 BCU, %3 BMC, %4 BMU.</source>
        <translation>Het batterijpakket op deze bus heeft %1 nodes: %2 BCU, %3 BMC, %4 BMU.</translation>
    </message>
    <message>
        <source>Verifying the bundle and measuring every node&apos;s preconditions…</source>
        <translation>De bundel wordt gecontroleerd en de voorwaarden van elke node worden gemeten…</translation>
    </message>
    <message>
        <source>Every node passed its preconditions. Update the %1 nodes of the pack to %2?</source>
        <translation>Elke node voldoet aan zijn voorwaarden. De %1 nodes van het batterijpakket bijwerken naar %2?</translation>
    </message>
    <message>
        <source>Cancelling: nothing will be written.</source>
        <translation>Annuleren: er wordt niets geschreven.</translation>
    </message>
    <message>
        <source>Phase: %1</source>
        <translation>Fase: %1</translation>
    </message>
    <message>
        <source>Choose a release bundle</source>
        <translation>Kies een releasebundel</translation>
    </message>
    <message>
        <source>Release bundles (*.bmsbundle)</source>
        <translation>Releasebundels (*.bmsbundle)</translation>
    </message>
    <message>
        <source>Save the pack&apos;s service report</source>
        <translation>Het servicerapport van het batterijpakket opslaan</translation>
    </message>
    <message>
        <source>Reports (*.pdf *.html)</source>
        <translation>Rapporten (*.pdf *.html)</translation>
    </message>
</context>
<context>
    <name>ConfigPage</name>
    <message>
        <source>Configuration</source>
        <translation>Configuratie</translation>
    </message>
    <message>
        <source>&amp;Read</source>
        <translation>&amp;Lezen</translation>
    </message>
    <message>
        <source>Read every parameter from the battery (Ctrl+Shift+R).</source>
        <translation>Alle parameters uit de batterij lezen (Ctrl+Shift+R).</translation>
    </message>
    <message>
        <source>&amp;Write changes</source>
        <translation>&amp;Wijzigingen schrijven</translation>
    </message>
    <message>
        <source>Write the edited parameters to the battery (Ctrl+S); values marked in red are never sent.</source>
        <translation>De gewijzigde parameters naar de batterij schrijven (Ctrl+S); rood gemarkeerde waarden worden nooit verzonden.</translation>
    </message>
    <message>
        <source>&amp;Back up</source>
        <translation>&amp;Back-up maken</translation>
    </message>
    <message>
        <source>Store every parameter in the service history (Ctrl+B).</source>
        <translation>Alle parameters in de servicehistoriek opslaan (Ctrl+B).</translation>
    </message>
    <message>
        <source>Parameter</source>
        <translation>Parameter</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Waarde</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>Eenheid</translation>
    </message>
    <message>
        <source>Allowed</source>
        <translation>Toegestaan</translation>
    </message>
    <message>
        <source>Backups of this battery</source>
        <translation>Back-ups van deze batterij</translation>
    </message>
    <message>
        <source>Backup</source>
        <translation>Back-up</translation>
    </message>
    <message>
        <source>Taken</source>
        <translation>Gemaakt</translation>
    </message>
    <message>
        <source>SHA-256</source>
        <translation>SHA-256</translation>
    </message>
    <message>
        <source>Res&amp;tore selected</source>
        <translation>Selectie &amp;terugzetten</translation>
    </message>
    <message>
        <source>Com&amp;pare with battery</source>
        <translation>Vergelijken met &amp;batterij</translation>
    </message>
    <message>
        <source>This battery does not describe its parameters: only the type of each value is checked here; the battery checks the range when the value is written.</source>
        <translation>Deze batterij beschrijft haar parameters niet: hier wordt alleen het type van elke waarde gecontroleerd; de batterij controleert het bereik wanneer de waarde wordt geschreven.</translation>
    </message>
    <message>
        <source>read-only</source>
        <translation>alleen-lezen</translation>
    </message>
    <message>
        <source>%1 to %2</source>
        <translation>%1 tot %2</translation>
    </message>
    <message>
        <source>at least %1</source>
        <translation>minstens %1</translation>
    </message>
    <message>
        <source>at most %1</source>
        <translation>hoogstens %1</translation>
    </message>
    <message>
        <source>Set at the factory: it cannot be changed here.</source>
        <translation>In de fabriek ingesteld: hier niet te wijzigen.</translation>
    </message>
    <message>
        <source>Allowed: %1</source>
        <translation>Toegestaan: %1</translation>
    </message>
    <message numerus="yes">
        <source>%n parameter(s), schema version %1.</source>
        <translation>
            <numerusform>%n parameter, schemaversie %1.</numerusform>
            <numerusform>%n parameters, schemaversie %1.</numerusform>
        </translation>
    </message>
    <message>
        <source>Type a number, for example 3.5.</source>
        <translation>Typ een getal, bijvoorbeeld 3,5.</translation>
    </message>
    <message>
        <source>Type a whole number.</source>
        <translation>Typ een geheel getal.</translation>
    </message>
    <message>
        <source>Tick or untick the box.</source>
        <translation>Vink het vakje aan of uit.</translation>
    </message>
    <message>
        <source>Too low: the battery accepts at least %1.</source>
        <translation>Te laag: de batterij aanvaardt minstens %1.</translation>
    </message>
    <message>
        <source>Too high: the battery accepts at most %1.</source>
        <translation>Te hoog: de batterij aanvaardt ten hoogste %1.</translation>
    </message>
    <message>
        <source>Not allowed: choose one of %1.</source>
        <translation>Niet toegestaan: kies een van %1.</translation>
    </message>
    <message>
        <source>Nothing was written: correct %1 first.</source>
        <translation>Er is niets geschreven: verbeter eerst %1.</translation>
    </message>
    <message>
        <source>Differences (backup → battery now):</source>
        <translation>Verschillen (back-up → batterij nu):</translation>
    </message>
    <message numerus="yes">
        <source>%n parameter(s) differ (backup → battery now):</source>
        <translation>
            <numerusform>%n parameter verschilt (back-up → batterij nu):</numerusform>
            <numerusform>%n parameters verschillen (back-up → batterij nu):</numerusform>
        </translation>
    </message>
    <message>
        <source>Battery</source>
        <translation>Batterij</translation>
    </message>
    <message>
        <source>The battery accepted the configuration.</source>
        <translation>De batterij heeft de configuratie aanvaard.</translation>
    </message>
    <message>
        <source>Backup #%1 stored and verified.</source>
        <translation>Back-up #%1 opgeslagen en gecontroleerd.</translation>
    </message>
    <message>
        <source>No differences: the battery matches the backup.</source>
        <translation>Geen verschillen: de batterij komt overeen met de back-up.</translation>
    </message>
</context>
<context>
    <name>DevicesPage</name>
    <message>
        <source>Devices</source>
        <translation>Apparaten</translation>
    </message>
    <message>
        <source>&amp;Scan (F5)</source>
        <translation>&amp;Zoeken (F5)</translation>
    </message>
    <message>
        <source>Look for adapters and batteries on every port and bus.</source>
        <translation>Zoek adapters en batterijen op elke poort en bus.</translation>
    </message>
    <message>
        <source>Batteries found</source>
        <translation>Gevonden batterijen</translation>
    </message>
    <message>
        <source>Serial</source>
        <translation>Serienummer</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Model</translation>
    </message>
    <message>
        <source>Mode</source>
        <translation>Modus</translation>
    </message>
    <message>
        <source>Firmware</source>
        <translation>Firmware</translation>
    </message>
    <message>
        <source>Protocol</source>
        <translation>Protocol</translation>
    </message>
    <message>
        <source>Link</source>
        <translation>Verbinding</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Adres</translation>
    </message>
    <message>
        <source>&amp;Connect</source>
        <translation>&amp;Verbinden</translation>
    </message>
    <message>
        <source>&amp;Recover…</source>
        <translation>&amp;Herstellen…</translation>
    </message>
    <message>
        <source>This battery has no bootable firmware: flash the last stable version in recovery mode.</source>
        <translation>Deze batterij heeft geen opstartbare firmware: flash de laatste stabiele versie in herstelmodus.</translation>
    </message>
    <message>
        <source>Adapters</source>
        <translation>Adapters</translation>
    </message>
    <message>
        <source>Adapter</source>
        <translation>Adapter</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Details</translation>
    </message>
    <message>
        <source>Connect by hand</source>
        <translation>Handmatig verbinden</translation>
    </message>
    <message>
        <source>&amp;Link:</source>
        <translation>V&amp;erbinding:</translation>
    </message>
    <message>
        <source>&amp;Port or URL:</source>
        <translation>&amp;Poort of URL:</translation>
    </message>
    <message>
        <source>&amp;Baud rate:</source>
        <translation>&amp;Baudrate:</translation>
    </message>
    <message>
        <source>&amp;Interface:</source>
        <translation>&amp;Interface:</translation>
    </message>
    <message>
        <source>C&amp;hannel:</source>
        <translation>&amp;Kanaal:</translation>
    </message>
    <message>
        <source>Bit&amp;rate:</source>
        <translation>Bi&amp;tsnelheid:</translation>
    </message>
    <message>
        <source>A&amp;ddressing:</source>
        <translation>A&amp;dressering:</translation>
    </message>
    <message>
        <source>&amp;Node:</source>
        <translation>&amp;Knooppunt:</translation>
    </message>
    <message>
        <source>S&amp;top bits:</source>
        <translation>S&amp;topbits:</translation>
    </message>
    <message>
        <source>&amp;Gateway (host:port):</source>
        <translation>&amp;Gateway (host:poort):</translation>
    </message>
    <message>
        <source>Modbus &amp;address:</source>
        <translation>Modbus-&amp;adres:</translation>
    </message>
    <message>
        <source>&amp;Up to address:</source>
        <translation>Tot en &amp;met adres:</translation>
    </message>
    <message>
        <source>D&amp;BC file:</source>
        <translation>D&amp;BC-bestand:</translation>
    </message>
    <message>
        <source>Signal &amp;map:</source>
        <translation>Signaal&amp;koppeling:</translation>
    </message>
    <message>
        <source>Serial (USB, UART, RS485) — SMP</source>
        <translation>Serieel (USB, UART, RS485) — SMP</translation>
    </message>
    <message>
        <source>CAN — UDS</source>
        <translation>CAN — UDS</translation>
    </message>
    <message>
        <source>CAN broadcast (DBC) — read-only</source>
        <translation>CAN-uitzendingen (DBC) — alleen lezen</translation>
    </message>
    <message>
        <source>RS485 — Modbus RTU (rack module)</source>
        <translation>RS485 — Modbus RTU (rackmodule)</translation>
    </message>
    <message>
        <source>Ethernet — Modbus TCP gateway</source>
        <translation>Ethernet — Modbus TCP-gateway</translation>
    </message>
    <message>
        <source>Even (E)</source>
        <translation>Even (E)</translation>
    </message>
    <message>
        <source>None (N)</source>
        <translation>Geen (N)</translation>
    </message>
    <message>
        <source>Odd (O)</source>
        <translation>Oneven (O)</translation>
    </message>
    <message>
        <source>192.168.1.50:502</source>
        <translation>192.168.1.50:502</translation>
    </message>
    <message>
        <source>the BMS&apos;s DBC file, e.g. pack.dbc</source>
        <translation>het DBC-bestand van het BMS, bijv. pack.dbc</translation>
    </message>
    <message>
        <source>which signal is which, e.g. pack.map.json</source>
        <translation>welk signaal wat is, bijv. pack.map.json</translation>
    </message>
    <message>
        <source>Listen without sending and decode the BMS&apos;s own broadcasts (docs/can-tools.md).</source>
        <translation>Luister zonder te zenden en decodeer de eigen uitzendingen van het BMS (docs/can-tools.md).</translation>
    </message>
    <message>
        <source>The module&apos;s unit address on the bus (1 to 247).</source>
        <translation>Het unitadres van de module op de bus (1 tot en met 247).</translation>
    </message>
    <message>
        <source>Read the bus asks every address from the Modbus address up to this one.</source>
        <translation>Bus uitlezen vraagt elk adres, van het Modbus-adres tot en met dit adres.</translation>
    </message>
    <message>
        <source>&amp;Watch the rack</source>
        <translation>Rack v&amp;olgen</translation>
    </message>
    <message>
        <source>Show the live cells of every module the bus read found, side by side (Live page).</source>
        <translation>Toon de cellen van elke module die bij het uitlezen van de bus antwoordde, naast elkaar (pagina Live gegevens).</translation>
    </message>
    <message>
        <source>List every module that answers on this RS485 line or gateway, one address after another.</source>
        <translation>Toon elke module die antwoordt op deze RS485-lijn of gateway, het ene adres na het andere.</translation>
    </message>
    <message>
        <source>11-bit normal (0x7E0 / 0x7E8)</source>
        <translation>11-bit normaal (0x7E0 / 0x7E8)</translation>
    </message>
    <message>
        <source>29-bit normal fixed (0x18DA…, J1939-style buses)</source>
        <translation>29-bit normaal vast (0x18DA…, J1939-achtige bussen)</translation>
    </message>
    <message>
        <source>Which CAN identifiers the BMS answers on; a scan reports it for each battery found.</source>
        <translation>Op welke CAN-identifiers het BMS antwoordt; een scan meldt dit voor elke gevonden batterij.</translation>
    </message>
    <message>
        <source>/dev/ttyUSB0, COM3 or socket://host:port</source>
        <translation>/dev/ttyUSB0, COM3 of socket://host:poort</translation>
    </message>
    <message>
        <source>C&amp;onnect</source>
        <translation>Ver&amp;binden</translation>
    </message>
    <message>
        <source>&amp;Disconnect</source>
        <translation>Verbinding &amp;verbreken</translation>
    </message>
    <message>
        <source>Connected battery</source>
        <translation>Verbonden batterij</translation>
    </message>
    <message>
        <source>Scanning every adapter…</source>
        <translation>Alle adapters worden doorzocht…</translation>
    </message>
    <message numerus="yes">
        <source>%n battery(ies) found in %1 s, the connected one included.</source>
        <translation>
            <numerusform>%n batterij gevonden in %1 s, de verbonden batterij inbegrepen.</numerusform>
            <numerusform>%n batterijen gevonden in %1 s, de verbonden batterij inbegrepen.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n battery(ies) found in %1 s.</source>
        <translation>
            <numerusform>%n batterij gevonden in %1 s.</numerusform>
            <numerusform>%n batterijen gevonden in %1 s.</numerusform>
        </translation>
    </message>
    <message>
        <source>&apos;%1&apos; is not a gateway address.</source>
        <translation>&apos;%1&apos; is geen gateway-adres.</translation>
    </message>
    <message>
        <source>Type host:port, such as 192.168.1.50:502.</source>
        <translation>Typ host:poort, bijvoorbeeld 192.168.1.50:502.</translation>
    </message>
    <message>
        <source>Choose the DBC file and its signal map first.</source>
        <translation>Kies eerst het DBC-bestand en de signaalkoppeling.</translation>
    </message>
    <message>
        <source>Reading the bus: address %1 of %2…</source>
        <translation>Bus uitlezen: adres %1 van %2…</translation>
    </message>
    <message numerus="yes">
        <source>%n module(s) answered on the bus in %1 s.</source>
        <translation>
            <numerusform>%n module antwoordde op de bus in %1 s.</numerusform>
            <numerusform>%n modules antwoordden op de bus in %1 s.</numerusform>
        </translation>
    </message>
    <message>
        <source>Stopped after %1 addresses: the read took too long.</source>
        <translation>Gestopt na %1 adressen: het uitlezen duurde te lang.</translation>
    </message>
    <message>
        <source>Still connected to %1 until it answers.</source>
        <translation>Nog verbonden met %1 tot ze antwoordt.</translation>
    </message>
    <message>
        <source>(unknown)</source>
        <translation>(onbekend)</translation>
    </message>
    <message>
        <source>Par&amp;ity:</source>
        <translation>Par&amp;iteit:</translation>
    </message>
    <message>
        <source>R&amp;ead the bus</source>
        <translation>Bus &amp;uitlezen</translation>
    </message>
    <message>
        <source>No bootable firmware: use Recover.</source>
        <translation>Geen opstartbare firmware: gebruik Herstellen.</translation>
    </message>
    <message>
        <source>This battery is connected now.</source>
        <translation>Deze batterij is nu verbonden.</translation>
    </message>
    <message>
        <source>Driver guide:</source>
        <translation>Handleiding stuurprogramma&apos;s:</translation>
    </message>
    <message>
        <source>Download:</source>
        <translation>Downloaden:</translation>
    </message>
    <message>
        <source>Type the serial port or URL first.</source>
        <translation>Typ eerst de seriële poort of URL.</translation>
    </message>
    <message>
        <source>&apos;%1&apos; is not a baud rate.</source>
        <translation>&apos;%1&apos; is geen baudrate.</translation>
    </message>
    <message>
        <source>Use a whole number such as 115200.</source>
        <translation>Gebruik een geheel getal zoals 115200.</translation>
    </message>
    <message>
        <source>Type the CAN interface and channel first.</source>
        <translation>Typ eerst de CAN-interface en het kanaal.</translation>
    </message>
    <message>
        <source>Connected; identifying the battery…</source>
        <translation>Verbonden; de batterij wordt geïdentificeerd…</translation>
    </message>
    <message>
        <source>Not connected.</source>
        <translation>Niet verbonden.</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>Verbinden met %1…</translation>
    </message>
    <message>
        <source>Connected to %1, serial %2.</source>
        <translation>Verbonden met %1, serienummer %2.</translation>
    </message>
</context>
<context>
    <name>DiagnosticsPage</name>
    <message>
        <source>Diagnostics</source>
        <translation>Diagnose</translation>
    </message>
    <message>
        <source>Read &amp;DTCs</source>
        <translation>&amp;DTC&apos;s lezen</translation>
    </message>
    <message>
        <source>Read the stored diagnostic trouble codes (Ctrl+D).</source>
        <translation>De opgeslagen diagnostische foutcodes lezen (Ctrl+D).</translation>
    </message>
    <message>
        <source>C&amp;lear DTCs</source>
        <translation>DTC&apos;s &amp;wissen</translation>
    </message>
    <message>
        <source>Erase the stored trouble codes, then read them again.</source>
        <translation>De opgeslagen foutcodes wissen en daarna opnieuw lezen.</translation>
    </message>
    <message>
        <source>Diagnostic trouble codes</source>
        <translation>Diagnostische foutcodes</translation>
    </message>
    <message>
        <source>Code</source>
        <translation>Code</translation>
    </message>
    <message>
        <source>Severity</source>
        <translation>Ernst</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>Status</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>Omschrijving</translation>
    </message>
    <message>
        <source>Link statistics</source>
        <translation>Verbindingsstatistieken</translation>
    </message>
    <message>
        <source>Link:</source>
        <translation>Verbinding:</translation>
    </message>
    <message>
        <source>Requests:</source>
        <translation>Verzoeken:</translation>
    </message>
    <message>
        <source>Retries:</source>
        <translation>Herhalingen:</translation>
    </message>
    <message>
        <source>Timeouts:</source>
        <translation>Time-outs:</translation>
    </message>
    <message>
        <source>Errors:</source>
        <translation>Fouten:</translation>
    </message>
    <message>
        <source>Last round trip:</source>
        <translation>Laatste retourtijd:</translation>
    </message>
    <message>
        <source>Bytes sent:</source>
        <translation>Verzonden bytes:</translation>
    </message>
    <message>
        <source>Bytes received:</source>
        <translation>Ontvangen bytes:</translation>
    </message>
    <message>
        <source>Record the CAN bus during updates</source>
        <translation>De CAN-bus opnemen tijdens updates</translation>
    </message>
    <message>
        <source>Every frame on the battery&apos;s CAN adapter while an update runs is written to a bus log (candump format, size-capped and rotated) kept with the session&apos;s report.</source>
        <translation>Elke frame op de CAN-adapter van de batterij wordt tijdens een update in een buslog geschreven (candump-formaat, begrensd in grootte en doorgeschoven), bewaard bij het rapport van de sessie.</translation>
    </message>
    <message numerus="yes">
        <source>%n stored trouble code(s).</source>
        <translation>
            <numerusform>%n opgeslagen foutcode.</numerusform>
            <numerusform>%n opgeslagen foutcodes.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>EngineText</name>
    <message>
        <source>the update wizard (Update page)</source>
        <translation>de update-assistent (pagina Update)</translation>
    </message>
    <message>
        <source>Roll back on the Update page</source>
        <translation>Terugdraaien op de pagina Update</translation>
    </message>
    <message>
        <source>Recover… on the Devices page</source>
        <translation>Herstellen… op de pagina Apparaten</translation>
    </message>
    <message>
        <source>Scan on the Devices page</source>
        <translation>Zoeken op de pagina Apparaten</translation>
    </message>
    <message>
        <source>the History page</source>
        <translation>de pagina Historiek</translation>
    </message>
    <message>
        <source>Restore selected on the Configuration page</source>
        <translation>Selectie terugzetten op de pagina Configuratie</translation>
    </message>
    <message>
        <source>Back up on the Configuration page</source>
        <translation>Back-up maken op de pagina Configuratie</translation>
    </message>
    <message>
        <source>the Configuration page</source>
        <translation>de pagina Configuratie</translation>
    </message>
    <message>
        <source>Update it with the update wizard (Update page): it checks the battery first.</source>
        <translation>Update ze met de update-assistent (pagina Update): die controleert eerst de batterij.</translation>
    </message>
    <message>
        <source>To install a newer release, open the update wizard (Update page): the package is verified, self-tested and rolled back automatically if it fails.</source>
        <translation>Open de update-assistent (pagina Update) om een nieuwere versie te installeren: het pakket wordt gecontroleerd, zelf getest en automatisch teruggedraaid als het faalt.</translation>
    </message>
    <message>
        <source>Run the update again with that package to finish it, or press Roll back on the Update page.</source>
        <translation>Voer de update opnieuw uit met dat pakket om ze af te werken, of druk op Terugdraaien op de pagina Update.</translation>
    </message>
    <message>
        <source>The service history was changed outside this application: keep the file for inspection and tell whoever looks after this computer.</source>
        <translation>De servicehistoriek is buiten deze toepassing gewijzigd: bewaar het bestand voor onderzoek en verwittig wie deze computer beheert.</translation>
    </message>
    <message>
        <source>The device is in recovery mode with no bootable firmware, so the battery cannot be measured; bring it back with Recover… on the Devices page first.</source>
        <translation>Het apparaat staat in herstelmodus zonder opstartbare firmware, dus de batterij kan niet worden gemeten; breng ze eerst terug met Herstellen… op de pagina Apparaten.</translation>
    </message>
    <message>
        <source>the matching page of this window</source>
        <translation>de overeenkomstige pagina van dit venster</translation>
    </message>
</context>
<context>
    <name>ErrorBanner</name>
    <message>
        <source>Dismiss (Esc)</source>
        <translation>Sluiten (Esc)</translation>
    </message>
</context>
<context>
    <name>HistoryPage</name>
    <message>
        <source>Report saved to %1</source>
        <translation>Rapport opgeslagen in %1</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Historiek</translation>
    </message>
    <message>
        <source>Re&amp;fresh</source>
        <translation>&amp;Vernieuwen</translation>
    </message>
    <message>
        <source>Read the service history again (Ctrl+H).</source>
        <translation>De servicehistoriek opnieuw lezen (Ctrl+H).</translation>
    </message>
    <message>
        <source>Save &amp;report…</source>
        <translation>&amp;Rapport opslaan…</translation>
    </message>
    <message>
        <source>Save the selected session as an HTML or PDF service report.</source>
        <translation>De gekozen sessie opslaan als servicerapport in HTML of PDF.</translation>
    </message>
    <message>
        <source>Session</source>
        <translation>Sessie</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>Gestart</translation>
    </message>
    <message>
        <source>Battery</source>
        <translation>Batterij</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Soort</translation>
    </message>
    <message>
        <source>Outcome</source>
        <translation>Resultaat</translation>
    </message>
    <message>
        <source>Firmware</source>
        <translation>Firmware</translation>
    </message>
    <message numerus="yes">
        <source>%n session(s) recorded.</source>
        <translation>
            <numerusform>%n sessie geregistreerd.</numerusform>
            <numerusform>%n sessies geregistreerd.</numerusform>
        </translation>
    </message>
    <message>
        <source>Session #%1 — %2 on %3</source>
        <translation>Sessie #%1 — %2 op %3</translation>
    </message>
    <message>
        <source>Operator: %1</source>
        <translation>Technicus: %1</translation>
    </message>
    <message>
        <source>Outcome: %1</source>
        <translation>Resultaat: %1</translation>
    </message>
    <message>
        <source>Steps:</source>
        <translation>Stappen:</translation>
    </message>
    <message>
        <source>Measurements:</source>
        <translation>Metingen:</translation>
    </message>
    <message>
        <source>Save service report</source>
        <translation>Servicerapport opslaan</translation>
    </message>
    <message>
        <source>Service reports (*.html *.pdf)</source>
        <translation>Servicerapporten (*.html *.pdf)</translation>
    </message>
</context>
<context>
    <name>IdentityView</name>
    <message>
        <source>active</source>
        <translation>actief</translation>
    </message>
    <message>
        <source>confirmed</source>
        <translation>bevestigd</translation>
    </message>
    <message>
        <source>pending</source>
        <translation>in afwachting</translation>
    </message>
    <message>
        <source>permanent</source>
        <translation>permanent</translation>
    </message>
    <message>
        <source>bootable</source>
        <translation>opstartbaar</translation>
    </message>
    <message>
        <source>empty</source>
        <translation>leeg</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>Model:</translation>
    </message>
    <message>
        <source>Serial number:</source>
        <translation>Serienummer:</translation>
    </message>
    <message>
        <source>Hardware revision:</source>
        <translation>Hardwarerevisie:</translation>
    </message>
    <message>
        <source>Firmware:</source>
        <translation>Firmware:</translation>
    </message>
    <message>
        <source>Bootloader:</source>
        <translation>Bootloader:</translation>
    </message>
    <message>
        <source>Mode:</source>
        <translation>Modus:</translation>
    </message>
    <message>
        <source>Security counter:</source>
        <translation>Beveiligingsteller:</translation>
    </message>
    <message>
        <source>Slot 0 (primary):</source>
        <translation>Slot 0 (primair):</translation>
    </message>
    <message>
        <source>Slot 1 (secondary):</source>
        <translation>Slot 1 (secundair):</translation>
    </message>
</context>
<context>
    <name>LivePage</name>
    <message>
        <source>Live data</source>
        <translation>Live gegevens</translation>
    </message>
    <message>
        <source>Resume (Ctrl+P)</source>
        <translation>Hervatten (Ctrl+P)</translation>
    </message>
    <message>
        <source>Pause (Ctrl+P)</source>
        <translation>Pauzeren (Ctrl+P)</translation>
    </message>
    <message>
        <source>Freeze the charts; samples keep being collected.</source>
        <translation>De grafieken bevriezen; metingen worden verder verzameld.</translation>
    </message>
    <message>
        <source>Stop recording</source>
        <translation>Opname stoppen</translation>
    </message>
    <message>
        <source>Record CSV…</source>
        <translation>CSV opnemen…</translation>
    </message>
    <message>
        <source>Record every sample to a CSV file (Ctrl+R).</source>
        <translation>Elke meting in een CSV-bestand opnemen (Ctrl+R).</translation>
    </message>
    <message>
        <source>Cell</source>
        <translation>Cel</translation>
    </message>
    <message>
        <source>Voltage (mV)</source>
        <translation>Spanning (mV)</translation>
    </message>
    <message>
        <source>Stop watching the rack</source>
        <translation>Rack niet meer volgen</translation>
    </message>
    <message>
        <source>Cell (module after module in the bars)</source>
        <translation>Cel (module na module in de staven)</translation>
    </message>
    <message>
        <source>Module address</source>
        <translation>Moduleadres</translation>
    </message>
    <message>
        <source>no answer</source>
        <translation>geen antwoord</translation>
    </message>
    <message>
        <source>Seconds before now</source>
        <translation>Seconden geleden</translation>
    </message>
    <message>
        <source>Pack voltage (V)</source>
        <translation>Packspanning (V)</translation>
    </message>
    <message>
        <source>Current (A)</source>
        <translation>Stroom (A)</translation>
    </message>
    <message>
        <source>SOC and SOH (%)</source>
        <translation>SOC en SOH (%)</translation>
    </message>
    <message>
        <source>SOC</source>
        <translation>SOC</translation>
    </message>
    <message>
        <source>SOH</source>
        <translation>SOH</translation>
    </message>
    <message>
        <source>Temperature (°C)</source>
        <translation>Temperatuur (°C)</translation>
    </message>
    <message>
        <source>min</source>
        <translation>min</translation>
    </message>
    <message>
        <source>max</source>
        <translation>max</translation>
    </message>
    <message>
        <source>No device connected: go to Devices and connect one.</source>
        <translation>Geen apparaat verbonden: ga naar Apparaten en verbind er een.</translation>
    </message>
    <message numerus="yes">
        <source>Rack: %n module(s).</source>
        <translation>
            <numerusform>Rack: %n module.</numerusform>
            <numerusform>Rack: %n modules.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n not answering: %1.</source>
        <translation>
            <numerusform>%n antwoordt niet: %1.</numerusform>
            <numerusform>%n antwoorden niet: %1.</numerusform>
        </translation>
    </message>
    <message>
        <source>%1, serial %2, firmware %3</source>
        <translation>%1, serienummer %2, firmware %3</translation>
    </message>
    <message>
        <source>The device did not answer: %1</source>
        <translation>Het apparaat antwoordde niet: %1</translation>
    </message>
    <message>
        <source>Record live data</source>
        <translation>Live gegevens opnemen</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>CSV-bestanden (*.csv)</translation>
    </message>
    <message>
        <source>Recording to %1</source>
        <translation>Opname naar %1</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>bmsflasher — battery service tool</source>
        <translation>bmsflasher — batterij-servicetool</translation>
    </message>
    <message>
        <source>&amp;Devices</source>
        <translation>&amp;Apparaten</translation>
    </message>
    <message>
        <source>&amp;Live</source>
        <translation>&amp;Live</translation>
    </message>
    <message>
        <source>&amp;Update</source>
        <translation>&amp;Update</translation>
    </message>
    <message>
        <source>&amp;Configuration</source>
        <translation>&amp;Configuratie</translation>
    </message>
    <message>
        <source>Dia&amp;gnostics</source>
        <translation>Dia&amp;gnose</translation>
    </message>
    <message>
        <source>&amp;History</source>
        <translation>&amp;Historiek</translation>
    </message>
    <message>
        <source>&amp;Pack</source>
        <translation>&amp;Batterijpakket</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Bestand</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Afsluiten</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>Beel&amp;d</translation>
    </message>
    <message>
        <source>&amp;Theme</source>
        <translation>&amp;Thema</translation>
    </message>
    <message>
        <source>&amp;Light</source>
        <translation>&amp;Licht</translation>
    </message>
    <message>
        <source>&amp;Dark</source>
        <translation>&amp;Donker</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>T&amp;aal</translation>
    </message>
    <message>
        <source>&amp;Battery</source>
        <translation>Batter&amp;ij</translation>
    </message>
    <message>
        <source>&amp;Scan for batteries</source>
        <translation>Batterijen &amp;zoeken</translation>
    </message>
    <message>
        <source>&amp;Update firmware…</source>
        <translation>Firmware &amp;updaten…</translation>
    </message>
    <message>
        <source>&amp;Disconnect</source>
        <translation>Verbinding &amp;verbreken</translation>
    </message>
    <message>
        <source>The translation could not be loaded; the interface stays in English.</source>
        <translation>De vertaling kon niet worden geladen; de interface blijft in het Engels.</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>Verbinden met %1…</translation>
    </message>
    <message>
        <source>Not connected</source>
        <translation>Niet verbonden</translation>
    </message>
    <message>
        <source>%1 · %2 · firmware %3 · %4</source>
        <translation>%1 · %2 · firmware %3 · %4</translation>
    </message>
    <message>
        <source>Working…</source>
        <translation>Bezig…</translation>
    </message>
    <message>
        <source>Connect a battery before updating it.</source>
        <translation>Verbind een batterij voordat u ze updatet.</translation>
    </message>
    <message>
        <source>%1 is not a firmware package (.bmspkg).</source>
        <translation>%1 is geen firmwarepakket (.bmspkg).</translation>
    </message>
    <message>
        <source>Open a .bmspkg file from the battery&apos;s manufacturer.</source>
        <translation>Open een .bmspkg-bestand van de fabrikant van de batterij.</translation>
    </message>
    <message>
        <source>The package %1 does not exist or cannot be read.</source>
        <translation>Het pakket %1 bestaat niet of kan niet gelezen worden.</translation>
    </message>
    <message>
        <source>An update is running: the window closes when it has reached a safe end.</source>
        <translation>Er loopt een update: het venster sluit zodra die een veilig einde heeft bereikt.</translation>
    </message>
    <message>
        <source>A pack campaign is running: the window closes when it has reached a safe end.</source>
        <translation>Er loopt een campagne op het batterijpakket: het venster sluit zodra ze een veilig einde heeft bereikt.</translation>
    </message>
</context>
<context>
    <name>MeasurementTable</name>
    <message>
        <source>Check</source>
        <translation>Controle</translation>
    </message>
    <message>
        <source>Measured</source>
        <translation>Gemeten</translation>
    </message>
    <message>
        <source>Limit</source>
        <translation>Grens</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Resultaat</translation>
    </message>
    <message>
        <source>Why it matters</source>
        <translation>Waarom het belangrijk is</translation>
    </message>
    <message>
        <source>pass</source>
        <translation>geslaagd</translation>
    </message>
    <message>
        <source>fail (may be overridden)</source>
        <translation>mislukt (mag overschreven worden)</translation>
    </message>
    <message>
        <source>FAIL</source>
        <translation>MISLUKT</translation>
    </message>
</context>
<context>
    <name>PackModel</name>
    <message>
        <source>Give the pack&apos;s CAN bus (interface, channel, bit rate) first.</source>
        <translation>Geef eerst de CAN-bus van het batterijpakket op (interface, kanaal, bitsnelheid).</translation>
    </message>
</context>
<context>
    <name>PackPage</name>
    <message>
        <source>Pack</source>
        <translation>Batterijpakket</translation>
    </message>
    <message>
        <source>A pack&apos;s nodes — one BCU, its BMCs and their BMUs — share one CAN bus. Read the pack to list every node, watch every BMU&apos;s cells, and update the whole pack to one release bundle: every node ends on the new set, or every node goes back to its old one.</source>
        <translation>De nodes van een batterijpakket — één BCU, zijn BMC&apos;s en hun BMU&apos;s — delen één CAN-bus. Lees het batterijpakket om elke node te tonen, volg de cellen van elke BMU en werk het hele batterijpakket bij naar één releasebundel: elke node eindigt op de nieuwe set, of elke node gaat terug naar zijn oude.</translation>
    </message>
    <message>
        <source>The pack&apos;s CAN bus</source>
        <translation>CAN-bus van het batterijpakket</translation>
    </message>
    <message>
        <source>Interface</source>
        <translation>Interface</translation>
    </message>
    <message>
        <source>Channel</source>
        <translation>Kanaal</translation>
    </message>
    <message>
        <source>e.g. can0 or /dev/ttyACM0</source>
        <translation>bv. can0 of /dev/ttyACM0</translation>
    </message>
    <message>
        <source>Bit rate</source>
        <translation>Bitsnelheid</translation>
    </message>
    <message>
        <source>&amp;Read the pack</source>
        <translation>Batterijpakket &amp;lezen</translation>
    </message>
    <message>
        <source>Start a &amp;demo pack</source>
        <translation>&amp;Demopakket starten</translation>
    </message>
    <message>
        <source>Live cells of every BMU</source>
        <translation>Live cellen van elke BMU</translation>
    </message>
    <message>
        <source>Cell</source>
        <translation>Cel</translation>
    </message>
    <message>
        <source>BMU address</source>
        <translation>BMU-adres</translation>
    </message>
    <message>
        <source>Voltage (mV)</source>
        <translation>Spanning (mV)</translation>
    </message>
    <message>
        <source>no answer</source>
        <translation>geen antwoord</translation>
    </message>
    <message>
        <source>&amp;Update the pack…</source>
        <translation>Batterijpakket &amp;bijwerken…</translation>
    </message>
    <message>
        <source>Roll &amp;back the pack</source>
        <translation>Batterijpakket &amp;terugdraaien</translation>
    </message>
    <message>
        <source>&amp;Stop watching the cells</source>
        <translation>Cellen niet meer &amp;volgen</translation>
    </message>
    <message>
        <source>&amp;Watch the cells</source>
        <translation>Cellen &amp;volgen</translation>
    </message>
    <message>
        <source>%1 BMUs, %2 cells</source>
        <translation>%1 BMU&apos;s, %2 cellen</translation>
    </message>
    <message>
        <source>%1 sweeps a second</source>
        <translation>%1 rondes per seconde</translation>
    </message>
    <message>
        <source>not answering: %1</source>
        <translation>antwoorden niet: %1</translation>
    </message>
    <message>
        <source>read over UDS (no cell frames): %1</source>
        <translation>via UDS gelezen (geen celframes): %1</translation>
    </message>
    <message>
        <source>Reading the pack…</source>
        <translation>Het batterijpakket wordt gelezen…</translation>
    </message>
    <message>
        <source>Starting the demo pack…</source>
        <translation>Het demopakket start…</translation>
    </message>
    <message>
        <source>A campaign is running.</source>
        <translation>Er loopt een campagne.</translation>
    </message>
    <message>
        <source>The pack is being rolled back.</source>
        <translation>Het batterijpakket wordt teruggedraaid.</translation>
    </message>
    <message numerus="yes">
        <source>%n node(s) answered.</source>
        <translation>
            <numerusform>%n node antwoordde.</numerusform>
            <numerusform>%n nodes antwoordden.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>PackSummaryWidget</name>
    <message>
        <source>Lowest cell</source>
        <translation>Laagste cel</translation>
    </message>
    <message>
        <source>Highest cell</source>
        <translation>Hoogste cel</translation>
    </message>
    <message>
        <source>Average cell</source>
        <translation>Gemiddelde cel</translation>
    </message>
    <message>
        <source>Spread (Δ)</source>
        <translation>Spreiding (Δ)</translation>
    </message>
    <message>
        <source>Pack voltage</source>
        <translation>Packspanning</translation>
    </message>
    <message>
        <source>Current</source>
        <translation>Stroom</translation>
    </message>
    <message>
        <source>State of charge</source>
        <translation>Laadtoestand</translation>
    </message>
    <message>
        <source>State of health</source>
        <translation>Gezondheidstoestand</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Temperatuur</translation>
    </message>
    <message>
        <source>Balancing</source>
        <translation>Balanceren</translation>
    </message>
    <message numerus="yes">
        <source>cell %n</source>
        <translation>
            <numerusform>cel %n</numerusform>
            <numerusform>cel %n</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n cell(s)</source>
        <translation>
            <numerusform>%n cel</numerusform>
            <numerusform>%n cellen</numerusform>
        </translation>
    </message>
    <message>
        <source>update window 20–80 %</source>
        <translation>updatevenster 20–80 %</translation>
    </message>
    <message numerus="yes">
        <source>%n sensor(s) failed</source>
        <translation>
            <numerusform>%n sensor defect</numerusform>
            <numerusform>%n sensoren defect</numerusform>
        </translation>
    </message>
    <message>
        <source>no working sensor</source>
        <translation>geen werkende sensor</translation>
    </message>
    <message>
        <source>cells bleeding</source>
        <translation>cellen ontladen</translation>
    </message>
</context>
<context>
    <name>PackTree</name>
    <message>
        <source>BCU — pack controller</source>
        <translation>BCU — pakketregelaar</translation>
    </message>
    <message>
        <source>BMC — module controllers</source>
        <translation>BMC — moduleregelaars</translation>
    </message>
    <message>
        <source>BMU — cell monitors</source>
        <translation>BMU — celbewaking</translation>
    </message>
    <message>
        <source>Node</source>
        <translation>Node</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Model</translation>
    </message>
    <message>
        <source>Serial number</source>
        <translation>Serienummer</translation>
    </message>
    <message>
        <source>Firmware</source>
        <translation>Firmware</translation>
    </message>
    <message>
        <source>State</source>
        <translation>Toestand</translation>
    </message>
    <message>
        <source>%1 (%2)</source>
        <translation>%1 (%2)</translation>
    </message>
    <message>
        <source>%1 %2 · 0x%3</source>
        <translation>%1 %2 · 0x%3</translation>
    </message>
</context>
<context>
    <name>PackagePage</name>
    <message>
        <source>Choose the firmware package</source>
        <translation>Kies het firmwarepakket</translation>
    </message>
    <message>
        <source>Only packages signed by a trusted manufacturer key can be installed.</source>
        <translation>Alleen pakketten die ondertekend zijn met een vertrouwde sleutel van de fabrikant kunnen worden geïnstalleerd.</translation>
    </message>
    <message>
        <source>Battery %1 (serial %2) runs firmware %3. Choose the package to install.</source>
        <translation>Batterij %1 (serienummer %2) draait firmware %3. Kies het pakket dat u wilt installeren.</translation>
    </message>
    <message>
        <source>&amp;Package file:</source>
        <translation>&amp;Pakketbestand:</translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation>&amp;Bladeren…</translation>
    </message>
    <message>
        <source>Packages &amp;available:</source>
        <translation>&amp;Beschikbare pakketten:</translation>
    </message>
    <message>
        <source>Packages are checked against these signing keys:</source>
        <translation>Pakketten worden gecontroleerd met deze ondertekeningssleutels:</translation>
    </message>
    <message>
        <source>Choose a firmware package</source>
        <translation>Kies een firmwarepakket</translation>
    </message>
    <message>
        <source>Firmware packages (*.bmspkg)</source>
        <translation>Firmwarepakketten (*.bmspkg)</translation>
    </message>
</context>
<context>
    <name>ParameterTexts</name>
    <message>
        <source>Cell over-voltage limit</source>
        <translation>Maximale celspanning</translation>
    </message>
    <message>
        <source>Cell voltage above which charging stops.</source>
        <translation>Celspanning waarboven het laden stopt.</translation>
    </message>
    <message>
        <source>Cell under-voltage limit</source>
        <translation>Minimale celspanning</translation>
    </message>
    <message>
        <source>Cell voltage below which discharging stops.</source>
        <translation>Celspanning waaronder het ontladen stopt.</translation>
    </message>
    <message>
        <source>Over-temperature limit</source>
        <translation>Maximale temperatuur</translation>
    </message>
    <message>
        <source>Temperature above which the pack disconnects.</source>
        <translation>Temperatuur waarboven het pakket zich loskoppelt.</translation>
    </message>
    <message>
        <source>Under-temperature limit</source>
        <translation>Minimale temperatuur</translation>
    </message>
    <message>
        <source>Temperature below which charging stops.</source>
        <translation>Temperatuur waaronder het laden stopt.</translation>
    </message>
    <message>
        <source>Charge current limit</source>
        <translation>Maximale laadstroom</translation>
    </message>
    <message>
        <source>Largest charge current before an alarm.</source>
        <translation>Grootste laadstroom voor een alarm.</translation>
    </message>
    <message>
        <source>Discharge current limit</source>
        <translation>Maximale ontlaadstroom</translation>
    </message>
    <message>
        <source>Largest discharge current before an alarm.</source>
        <translation>Grootste ontlaadstroom voor een alarm.</translation>
    </message>
    <message>
        <source>Cell balancing</source>
        <translation>Celbalancering</translation>
    </message>
    <message>
        <source>Whether passive balancing runs.</source>
        <translation>Of passieve balancering actief is.</translation>
    </message>
    <message>
        <source>Balancing start voltage</source>
        <translation>Startspanning balancering</translation>
    </message>
    <message>
        <source>Cells above this voltage may be balanced.</source>
        <translation>Cellen boven deze spanning mogen gebalanceerd worden.</translation>
    </message>
    <message>
        <source>Balancing threshold</source>
        <translation>Balanceringsdrempel</translation>
    </message>
    <message>
        <source>Imbalance from the lowest cell that starts balancing.</source>
        <translation>Afwijking ten opzichte van de laagste cel waarbij balancering start.</translation>
    </message>
    <message>
        <source>Rated capacity</source>
        <translation>Nominale capaciteit</translation>
    </message>
    <message>
        <source>Rated capacity used for state-of-charge counting.</source>
        <translation>Nominale capaciteit voor het berekenen van de laadtoestand.</translation>
    </message>
    <message>
        <source>Voltage calibration gain</source>
        <translation>Versterking spanningskalibratie</translation>
    </message>
    <message>
        <source>Cell-voltage calibration gain.</source>
        <translation>Kalibratieversterking van de celspanning.</translation>
    </message>
    <message>
        <source>Voltage calibration offset</source>
        <translation>Offset spanningskalibratie</translation>
    </message>
    <message>
        <source>Cell-voltage calibration offset.</source>
        <translation>Kalibratie-offset van de celspanning.</translation>
    </message>
    <message>
        <source>Current calibration gain</source>
        <translation>Versterking stroomkalibratie</translation>
    </message>
    <message>
        <source>Current-sensor calibration gain.</source>
        <translation>Kalibratieversterking van de stroomsensor.</translation>
    </message>
    <message>
        <source>CAN bit rate</source>
        <translation>CAN-bitsnelheid</translation>
    </message>
    <message>
        <source>CAN bus bit rate.</source>
        <translation>Bitsnelheid van de CAN-bus.</translation>
    </message>
    <message>
        <source>CAN node number</source>
        <translation>CAN-knooppuntnummer</translation>
    </message>
    <message>
        <source>Node number on the CAN bus.</source>
        <translation>Knooppuntnummer op de CAN-bus.</translation>
    </message>
    <message>
        <source>Serial baud rate</source>
        <translation>Seriële baudrate</translation>
    </message>
    <message>
        <source>Serial (USB/RS485) line rate.</source>
        <translation>Lijnsnelheid van de seriële verbinding (USB/RS485).</translation>
    </message>
    <message>
        <source>Number of cells</source>
        <translation>Aantal cellen</translation>
    </message>
    <message>
        <source>Series cells the BMS monitors.</source>
        <translation>In serie geschakelde cellen die het BMS bewaakt.</translation>
    </message>
    <message>
        <source>Serial number</source>
        <translation>Serienummer</translation>
    </message>
    <message>
        <source>Serial number set at the factory.</source>
        <translation>Serienummer, in de fabriek ingesteld.</translation>
    </message>
    <message>
        <source>Hardware revision</source>
        <translation>Hardwarerevisie</translation>
    </message>
    <message>
        <source>Hardware revision set at the factory.</source>
        <translation>Hardwarerevisie, in de fabriek ingesteld.</translation>
    </message>
    <message>
        <source>voltage calibration</source>
        <translation>spanningskalibratie</translation>
    </message>
    <message>
        <source>temperature sensors</source>
        <translation>temperatuursensoren</translation>
    </message>
    <message>
        <source>balancing circuit</source>
        <translation>balanceercircuit</translation>
    </message>
    <message>
        <source>firmware integrity</source>
        <translation>integriteit van de firmware</translation>
    </message>
    <message>
        <source>reference voltage</source>
        <translation>referentiespanning</translation>
    </message>
    <message>
        <source>communication</source>
        <translation>communicatie</translation>
    </message>
    <message>
        <source>Battery self-test: %1</source>
        <translation>Zelftest van de batterij: %1</translation>
    </message>
</context>
<context>
    <name>PreconditionsPage</name>
    <message>
        <source>Preconditions</source>
        <translation>Voorwaarden</translation>
    </message>
    <message>
        <source>Charge, temperature, load, stability and link are measured now; nothing is written yet.</source>
        <translation>Lading, temperatuur, belasting, stabiliteit en verbinding worden nu gemeten; er wordt nog niets geschreven.</translation>
    </message>
    <message>
        <source>&amp;Start update</source>
        <translation>Update &amp;starten</translation>
    </message>
    <message>
        <source>Overrides (recorded in the service history)</source>
        <translation>Uitzonderingen (vastgelegd in de servicehistoriek)</translation>
    </message>
    <message>
        <source>&amp;Technician:</source>
        <translation>&amp;Technicus:</translation>
    </message>
    <message>
        <source>your name, for the service report</source>
        <translation>uw naam, voor het servicerapport</translation>
    </message>
    <message>
        <source>&amp;Measure again</source>
        <translation>Opnieuw &amp;meten</translation>
    </message>
    <message>
        <source>Measuring the battery (a few seconds)…</source>
        <translation>De batterij wordt gemeten (enkele seconden)…</translation>
    </message>
    <message>
        <source>The battery could not be measured: %1</source>
        <translation>De batterij kon niet worden gemeten: %1</translation>
    </message>
    <message>
        <source>Override %1</source>
        <translation>%1 overschrijven</translation>
    </message>
    <message>
        <source>reason (required)</source>
        <translation>reden (verplicht)</translation>
    </message>
    <message>
        <source>The update is refused: %1 outside the safe range.</source>
        <translation>De update wordt geweigerd: %1 buiten het veilige bereik.</translation>
    </message>
    <message>
        <source>What to check: %1</source>
        <translation>Wat te controleren: %1</translation>
    </message>
    <message>
        <source>What to do: %1</source>
        <translation>Wat te doen: %1</translation>
    </message>
    <message>
        <source>Some quality checks failed. Override them with a reason, or fix them and measure again.</source>
        <translation>Enkele kwaliteitscontroles zijn mislukt. Overschrijf ze met een reden, of verhelp ze en meet opnieuw.</translation>
    </message>
    <message>
        <source>Every precondition is met. Press Start update to begin.</source>
        <translation>Aan alle voorwaarden is voldaan. Druk op Update starten om te beginnen.</translation>
    </message>
</context>
<context>
    <name>RebootPage</name>
    <message>
        <source>Reboot</source>
        <translation>Herstart</translation>
    </message>
    <message>
        <source>The bootloader checks the new image&apos;s signature and starts it once, on trial.</source>
        <translation>De bootloader controleert de handtekening van het nieuwe image en start het één keer op proef.</translation>
    </message>
    <message>
        <source>Protection circuits go down and come back with the new firmware. If it does not start, the bootloader returns to the old firmware by itself.</source>
        <translation>De beveiligingscircuits gaan uit en komen terug met de nieuwe firmware. Als die niet start, keert de bootloader zelf terug naar de oude firmware.</translation>
    </message>
</context>
<context>
    <name>RecoveryDialog</name>
    <message>
        <source>Emergency recovery</source>
        <translation>Noodherstel</translation>
    </message>
    <message>
        <source>The battery on %1 has no bootable firmware.</source>
        <translation>De batterij op %1 heeft geen opstartbare firmware.</translation>
    </message>
    <message>
        <source>the last stable package (.bmspkg)</source>
        <translation>het laatste stabiele pakket (.bmspkg)</translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation>&amp;Bladeren…</translation>
    </message>
    <message>
        <source>If the battery cannot tell its model and hardware revision in recovery, type them from the label on the unit; the package is checked against them and they are recorded.</source>
        <translation>Als de batterij in herstelmodus haar model en hardwarerevisie niet kan melden, typ ze dan over van het label op het toestel; het pakket wordt ermee vergeleken en ze worden geregistreerd.</translation>
    </message>
    <message>
        <source>model on the label, e.g. VBMS-16</source>
        <translation>model op het label, bv. VBMS-16</translation>
    </message>
    <message>
        <source>hardware revision</source>
        <translation>hardwarerevisie</translation>
    </message>
    <message>
        <source>&amp;Recover</source>
        <translation>&amp;Herstellen</translation>
    </message>
    <message>
        <source>Choose the last stable package</source>
        <translation>Kies het laatste stabiele pakket</translation>
    </message>
    <message>
        <source>Firmware packages (*.bmspkg)</source>
        <translation>Firmwarepakketten (*.bmspkg)</translation>
    </message>
    <message>
        <source>Choose an existing package file first.</source>
        <translation>Kies eerst een bestaand pakketbestand.</translation>
    </message>
    <message>
        <source>Recovering…</source>
        <translation>Bezig met herstellen…</translation>
    </message>
    <message>
        <source>Recovered: the battery runs firmware %1 again.</source>
        <translation>Hersteld: de batterij draait weer firmware %1.</translation>
    </message>
</context>
<context>
    <name>ResultPage</name>
    <message>
        <source>Result</source>
        <translation>Resultaat</translation>
    </message>
    <message>
        <source>Troubleshooting</source>
        <translation>Probleemoplossing</translation>
    </message>
    <message>
        <source>&amp;Roll back</source>
        <translation>&amp;Terugdraaien</translation>
    </message>
    <message>
        <source>Restore &amp;config</source>
        <translation>&amp;Configuratie terugzetten</translation>
    </message>
    <message>
        <source>Write the configuration backed up before this update.</source>
        <translation>De configuratie terugschrijven waarvan vóór deze update een back-up is gemaakt.</translation>
    </message>
    <message>
        <source>&amp;Save service report…</source>
        <translation>Service&amp;rapport opslaan…</translation>
    </message>
    <message>
        <source>Hide the &amp;log</source>
        <translation>&amp;Logboek verbergen</translation>
    </message>
    <message>
        <source>Show the &amp;log</source>
        <translation>&amp;Logboek tonen</translation>
    </message>
    <message>
        <source>Firmware updated to %1.</source>
        <translation>Firmware bijgewerkt naar %1.</translation>
    </message>
    <message>
        <source>The new firmware failed its checks: the battery is back on %1.</source>
        <translation>De nieuwe firmware faalde bij de controles: de batterij draait weer %1.</translation>
    </message>
    <message>
        <source>The update was refused before anything was written.</source>
        <translation>De update werd geweigerd voordat er iets werd geschreven.</translation>
    </message>
    <message>
        <source>The update was cancelled before anything was written.</source>
        <translation>De update werd geannuleerd voordat er iets werd geschreven.</translation>
    </message>
    <message>
        <source>The update failed.</source>
        <translation>De update is mislukt.</translation>
    </message>
    <message>
        <source>Step that stopped: %1</source>
        <translation>Gestopt bij stap: %1</translation>
    </message>
    <message>
        <source>The battery now runs firmware %1.</source>
        <translation>De batterij draait nu firmware %1.</translation>
    </message>
    <message>
        <source>What to check: %1</source>
        <translation>Wat te controleren: %1</translation>
    </message>
    <message>
        <source>What to do: %1</source>
        <translation>Wat te doen: %1</translation>
    </message>
    <message>
        <source>Rolling back: the battery reboots into its other firmware…</source>
        <translation>Terugdraaien: de batterij herstart in haar andere firmware…</translation>
    </message>
    <message>
        <source>Rolled back: the battery runs firmware %1.</source>
        <translation>Teruggedraaid: de batterij draait firmware %1.</translation>
    </message>
    <message>
        <source>Nothing was rolled back: %1</source>
        <translation>Er is niets teruggedraaid: %1</translation>
    </message>
    <message>
        <source>Restoring the configuration backup…</source>
        <translation>De back-up van de configuratie wordt teruggezet…</translation>
    </message>
    <message>
        <source>The configuration backup was restored.</source>
        <translation>De back-up van de configuratie is teruggezet.</translation>
    </message>
    <message>
        <source>Save service report</source>
        <translation>Servicerapport opslaan</translation>
    </message>
    <message>
        <source>Service reports (*.html *.pdf)</source>
        <translation>Servicerapporten (*.html *.pdf)</translation>
    </message>
    <message>
        <source>Service report saved to %1.</source>
        <translation>Servicerapport opgeslagen in %1.</translation>
    </message>
</context>
<context>
    <name>SelfTestPage</name>
    <message>
        <source>Self-test</source>
        <translation>Zelftest</translation>
    </message>
    <message>
        <source>Calibration (±0.5 %), temperature sensors, communication speed, balancing, fault codes.</source>
        <translation>Kalibratie (±0,5 %), temperatuursensoren, communicatiesnelheid, balanceren, foutcodes.</translation>
    </message>
    <message>
        <source>If any check fails, the previous firmware and configuration are restored automatically.</source>
        <translation>Als een controle mislukt, worden de vorige firmware en configuratie automatisch teruggezet.</translation>
    </message>
</context>
<context>
    <name>Texts</name>
    <message>
        <source>application</source>
        <translation>applicatie</translation>
    </message>
    <message>
        <source>bootloader</source>
        <translation>bootloader</translation>
    </message>
    <message>
        <source>RECOVERY</source>
        <translation>HERSTEL</translation>
    </message>
    <message>
        <source>Cell over-voltage</source>
        <translation>Cel-overspanning</translation>
    </message>
    <message>
        <source>Cell under-voltage</source>
        <translation>Cel-onderspanning</translation>
    </message>
    <message>
        <source>Over-temperature</source>
        <translation>Oververhitting</translation>
    </message>
    <message>
        <source>Under-temperature</source>
        <translation>Te lage temperatuur</translation>
    </message>
    <message>
        <source>Over-current</source>
        <translation>Overstroom</translation>
    </message>
    <message>
        <source>Temperature sensor fault</source>
        <translation>Fout in temperatuursensor</translation>
    </message>
    <message>
        <source>info</source>
        <translation>info</translation>
    </message>
    <message>
        <source>warning</source>
        <translation>waarschuwing</translation>
    </message>
    <message>
        <source>critical</source>
        <translation>kritiek</translation>
    </message>
    <message>
        <source>interrupted</source>
        <translation>onderbroken</translation>
    </message>
    <message>
        <source>updated</source>
        <translation>bijgewerkt</translation>
    </message>
    <message>
        <source>refused by a precondition</source>
        <translation>geweigerd door een voorwaarde</translation>
    </message>
    <message>
        <source>rolled back</source>
        <translation>teruggedraaid</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>mislukt</translation>
    </message>
    <message>
        <source>Signature</source>
        <translation>Handtekening</translation>
    </message>
    <message>
        <source>Image hash</source>
        <translation>Image-hash</translation>
    </message>
    <message>
        <source>Expiry date</source>
        <translation>Vervaldatum</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Model</translation>
    </message>
    <message>
        <source>Hardware revision</source>
        <translation>Hardwarerevisie</translation>
    </message>
    <message>
        <source>Device mode</source>
        <translation>Apparaatmodus</translation>
    </message>
    <message>
        <source>Bootloader version</source>
        <translation>Bootloaderversie</translation>
    </message>
    <message>
        <source>Anti-rollback counter</source>
        <translation>Anti-terugdraaiteller</translation>
    </message>
    <message>
        <source>Signing key</source>
        <translation>Ondertekeningssleutel</translation>
    </message>
    <message>
        <source>State of charge</source>
        <translation>Laadtoestand</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Temperatuur</translation>
    </message>
    <message>
        <source>Load current</source>
        <translation>Belastingsstroom</translation>
    </message>
    <message>
        <source>Critical trouble codes</source>
        <translation>Kritieke foutcodes</translation>
    </message>
    <message>
        <source>Cell voltage stability</source>
        <translation>Stabiliteit van de celspanning</translation>
    </message>
    <message>
        <source>Supply stability</source>
        <translation>Stabiliteit van de voeding</translation>
    </message>
    <message>
        <source>Link quality</source>
        <translation>Verbindingskwaliteit</translation>
    </message>
    <message>
        <source>Voltage calibration</source>
        <translation>Spanningskalibratie</translation>
    </message>
    <message>
        <source>Reference voltage</source>
        <translation>Referentiespanning</translation>
    </message>
    <message>
        <source>Temperature sensors</source>
        <translation>Temperatuursensoren</translation>
    </message>
    <message>
        <source>Communication speed</source>
        <translation>Communicatiesnelheid</translation>
    </message>
    <message>
        <source>Cell balancing</source>
        <translation>Celbalancering</translation>
    </message>
    <message>
        <source>New trouble codes</source>
        <translation>Nieuwe foutcodes</translation>
    </message>
    <message>
        <source>Connect a battery first.</source>
        <translation>Verbind eerst een batterij.</translation>
    </message>
    <message>
        <source>Roll back returns to firmware %1 in slot 1; the battery reboots into it.</source>
        <translation>Terugdraaien keert terug naar firmware %1 in slot 1; de batterij herstart erin.</translation>
    </message>
    <message>
        <source>Roll back is not possible: the battery is in %1 mode, not running its firmware.</source>
        <translation>Terugdraaien is niet mogelijk: de batterij staat in de modus %1 en draait haar firmware niet.</translation>
    </message>
    <message>
        <source>Roll back is not possible: slot 1 is empty, there is no other firmware.</source>
        <translation>Terugdraaien is niet mogelijk: slot 1 is leeg, er is geen andere firmware.</translation>
    </message>
    <message>
        <source>Roll back is not possible: the bootloader refuses firmware %1 in slot 1 (anti-rollback: its security counter is below the battery&apos;s, %2; or the image is damaged).</source>
        <translation>Terugdraaien is niet mogelijk: de bootloader weigert firmware %1 in slot 1 (anti-rollback: haar beveiligingsteller ligt onder die van de batterij, %2; of de image is beschadigd).</translation>
    </message>
    <message>
        <source>Roll back is not possible: slot 1 holds %1, newer than the running %2 and never confirmed (an update that failed); a rollback only returns to older firmware.</source>
        <translation>Terugdraaien is niet mogelijk: slot 1 bevat %1, nieuwer dan de draaiende %2 en nooit bevestigd (een mislukte update); terugdraaien keert alleen terug naar oudere firmware.</translation>
    </message>
    <message>
        <source>Verify the package</source>
        <translation>Het pakket controleren</translation>
    </message>
    <message>
        <source>Identify the battery</source>
        <translation>De batterij identificeren</translation>
    </message>
    <message>
        <source>Check the preconditions</source>
        <translation>De voorwaarden controleren</translation>
    </message>
    <message>
        <source>Back up the configuration</source>
        <translation>Back-up van de configuratie maken</translation>
    </message>
    <message>
        <source>Transfer the firmware</source>
        <translation>De firmware overdragen</translation>
    </message>
    <message>
        <source>Reboot into the new firmware</source>
        <translation>Herstarten in de nieuwe firmware</translation>
    </message>
    <message>
        <source>Run the self-test</source>
        <translation>De zelftest uitvoeren</translation>
    </message>
    <message>
        <source>Confirm the new firmware</source>
        <translation>De nieuwe firmware bevestigen</translation>
    </message>
    <message>
        <source>Check the configuration</source>
        <translation>De configuratie controleren</translation>
    </message>
    <message>
        <source>Roll back to the previous firmware</source>
        <translation>Terugdraaien naar de vorige firmware</translation>
    </message>
    <message>
        <source>Restore the configuration</source>
        <translation>De configuratie terugzetten</translation>
    </message>
    <message>
        <source>battery found</source>
        <translation>batterij gevonden</translation>
    </message>
    <message>
        <source>nothing answered</source>
        <translation>niets antwoordde</translation>
    </message>
    <message>
        <source>answers garbage</source>
        <translation>antwoordt met onzin</translation>
    </message>
    <message>
        <source>busy (used by another program)</source>
        <translation>bezet (gebruikt door een ander programma)</translation>
    </message>
    <message>
        <source>permission denied</source>
        <translation>toegang geweigerd</translation>
    </message>
    <message>
        <source>driver missing</source>
        <translation>stuurprogramma ontbreekt</translation>
    </message>
    <message>
        <source>not found</source>
        <translation>niet gevonden</translation>
    </message>
    <message>
        <source>scan time ran out</source>
        <translation>zoektijd verstreken</translation>
    </message>
    <message>
        <source>error</source>
        <translation>fout</translation>
    </message>
    <message>
        <source>update</source>
        <translation>update</translation>
    </message>
    <message>
        <source>rollback</source>
        <translation>terugdraaiing</translation>
    </message>
    <message>
        <source>recovery</source>
        <translation>herstel</translation>
    </message>
    <message>
        <source>restore</source>
        <translation>terugzetting</translation>
    </message>
    <message>
        <source>backup</source>
        <translation>back-up</translation>
    </message>
</context>
<context>
    <name>TransferPage</name>
    <message>
        <source>Firmware transfer</source>
        <translation>Firmware-overdracht</translation>
    </message>
    <message>
        <source>The new firmware is written to the spare slot; the battery keeps running the old one.</source>
        <translation>De nieuwe firmware wordt in het reserveslot geschreven; de batterij blijft de oude draaien.</translation>
    </message>
    <message>
        <source>If the cable is pulled, plug it back in and start the update again: it resumes.</source>
        <translation>Als de kabel losraakt, steek hem terug in en start de update opnieuw: ze gaat verder waar ze stopte.</translation>
    </message>
    <message>
        <source>Sent: %1</source>
        <translation>Verzonden: %1</translation>
    </message>
    <message>
        <source>Throughput: %1</source>
        <translation>Doorvoer: %1</translation>
    </message>
    <message>
        <source>Time left: %1</source>
        <translation>Resterende tijd: %1</translation>
    </message>
    <message>
        <source>Sent: %1 of %2 KiB</source>
        <translation>Verzonden: %1 van %2 KiB</translation>
    </message>
</context>
<context>
    <name>Troubleshooting</name>
    <message>
        <source>Authentication rejection</source>
        <translation>Authenticatie geweigerd</translation>
    </message>
    <message>
        <source>Verify the digital certificate chain: the package must be signed by a key in the trusted keyring and the device must accept the tool&apos;s security key.</source>
        <translation>Controleer de digitale certificaatketen: het pakket moet ondertekend zijn met een sleutel uit de vertrouwde sleutelbos en het apparaat moet de beveiligingssleutel van de tool aanvaarden.</translation>
    </message>
    <message>
        <source>Re-download the firmware from a trusted source.</source>
        <translation>Download de firmware opnieuw van een vertrouwde bron.</translation>
    </message>
    <message>
        <source>Technician not authenticated</source>
        <translation>Technicus niet geauthenticeerd</translation>
    </message>
    <message>
        <source>The device accepts writes only from an authenticated technician: check that your technician certificate and key are in your credentials folder (or named with --technician), issued by the vendor CA this device trusts, valid today and not revoked.</source>
        <translation>Het apparaat aanvaardt schrijfopdrachten alleen van een geauthenticeerde technicus: controleer of uw techniciuscertificaat en sleutel in uw map met inloggegevens staan (of met --technician zijn opgegeven), uitgegeven door de CA van de leverancier die dit apparaat vertrouwt, vandaag geldig en niet ingetrokken.</translation>
    </message>
    <message>
        <source>Install a valid technician certificate from your vendor, then run the update again; nothing was written to the battery without it.</source>
        <translation>Installeer een geldig techniciuscertificaat van uw leverancier en start de update opnieuw; zonder dat is er niets naar de batterij geschreven.</translation>
    </message>
    <message>
        <source>Boot loop after the update</source>
        <translation>Opstartlus na de update</translation>
    </message>
    <message>
        <source>Check the hardware compatibility matrix: the firmware must be released for this model and hardware revision.</source>
        <translation>Controleer de hardwarecompatibiliteitsmatrix: de firmware moet vrijgegeven zijn voor dit model en deze hardwarerevisie.</translation>
    </message>
    <message>
        <source>Roll back to the last stable version.</source>
        <translation>Draai terug naar de laatste stabiele versie.</translation>
    </message>
    <message>
        <source>Data transfer timeout</source>
        <translation>Time-out bij de gegevensoverdracht</translation>
    </message>
    <message>
        <source>Test the baud rate alignment between the tool and the device (or the CAN bitrate), and look for worn RS485/CAN cables or loose USB plugs.</source>
        <translation>Test of de baudrate van de tool en het apparaat overeenkomt (of de CAN-bitsnelheid) en zoek naar versleten RS485/CAN-kabels of losse USB-stekkers.</translation>
    </message>
    <message>
        <source>Replace the communication cables, then run the update again: it resumes where it stopped.</source>
        <translation>Vervang de communicatiekabels en voer de update opnieuw uit: ze gaat verder waar ze stopte.</translation>
    </message>
    <message>
        <source>Self-test failed after the update</source>
        <translation>Zelftest mislukt na de update</translation>
    </message>
    <message>
        <source>Read which check failed (calibration, temperature sensors, balancing, communication, new fault codes) and compare with the release notes.</source>
        <translation>Lees welke controle mislukte (kalibratie, temperatuursensoren, balanceren, communicatie, nieuwe foutcodes) en vergelijk met de release-opmerkingen.</translation>
    </message>
    <message>
        <source>The tool rolled back to the previous firmware; report the failed check to the manufacturer before trying this release again.</source>
        <translation>De tool is teruggekeerd naar de vorige firmware; meld de mislukte controle aan de fabrikant voordat u deze release opnieuw probeert.</translation>
    </message>
    <message>
        <source>Device stays in recovery mode</source>
        <translation>Apparaat blijft in herstelmodus</translation>
    </message>
    <message>
        <source>No bootable firmware is left on the device; check the supply voltage and the cable to the recovery port.</source>
        <translation>Er staat geen opstartbare firmware meer op het apparaat; controleer de voedingsspanning en de kabel naar de herstelpoort.</translation>
    </message>
    <message>
        <source>Flash the last stable version locally in recovery mode before attempting another update.</source>
        <translation>Flash de laatste stabiele versie lokaal in herstelmodus voordat u een nieuwe update probeert.</translation>
    </message>
    <message>
        <source>Update refused by a precondition</source>
        <translation>Update geweigerd door een voorwaarde</translation>
    </message>
    <message>
        <source>Read the failed gate, its measured value and its limit: charge 20–80 %, temperature 0–45 °C, no load, stable supply.</source>
        <translation>Lees de mislukte voorwaarde, de gemeten waarde en de grens: lading 20–80 %, temperatuur 0–45 °C, geen belasting, stabiele voeding.</translation>
    </message>
    <message>
        <source>Bring the battery into range (charge or discharge, let it cool or warm, disconnect loads), then start again.</source>
        <translation>Breng de batterij binnen het bereik (laden of ontladen, laten afkoelen of opwarmen, belasting loskoppelen) en begin opnieuw.</translation>
    </message>
    <message>
        <source>Port or adapter not found</source>
        <translation>Poort of adapter niet gevonden</translation>
    </message>
    <message>
        <source>The named port or adapter does not exist: check its name against the adapters the scan lists, and that the adapter is plugged in and powered.</source>
        <translation>De opgegeven poort of adapter bestaat niet: vergelijk de naam met de adapters die de scan toont, en controleer of de adapter is aangesloten en voeding heeft.</translation>
    </message>
    <message>
        <source>Plug the adapter in or correct the port name, then start again; nothing was written to the battery.</source>
        <translation>Sluit de adapter aan of verbeter de poortnaam en begin opnieuw; er is niets naar de batterij geschreven.</translation>
    </message>
    <message>
        <source>Port in use by another program</source>
        <translation>Poort in gebruik door een ander programma</translation>
    </message>
    <message>
        <source>Another program (a terminal, a second copy of this tool, a vendor tool) holds the port or adapter.</source>
        <translation>Een ander programma (een terminal, een tweede exemplaar van deze tool, een tool van de fabrikant) houdt de poort of adapter bezet.</translation>
    </message>
    <message>
        <source>Close the other program or choose another adapter, then start again; nothing was written to the battery.</source>
        <translation>Sluit het andere programma of kies een andere adapter en begin opnieuw; er is niets naar de batterij geschreven.</translation>
    </message>
    <message>
        <source>No permission to open the port</source>
        <translation>Geen toestemming om de poort te openen</translation>
    </message>
    <message>
        <source>The operating system refused access to the port: on Linux the user must be in the dialout group or the udev rules shipped with the tool must be installed.</source>
        <translation>Het besturingssysteem weigert toegang tot de poort: onder Linux moet de gebruiker in de groep dialout zitten of moeten de udev-regels van de tool geïnstalleerd zijn.</translation>
    </message>
    <message>
        <source>Grant access (log out and in again after joining the group), then start again; nothing was written to the battery.</source>
        <translation>Geef toegang (meld je af en weer aan na het toevoegen aan de groep) en begin opnieuw; er is niets naar de batterij geschreven.</translation>
    </message>
    <message>
        <source>The port is not a usable adapter</source>
        <translation>De poort is geen bruikbare adapter</translation>
    </message>
    <message>
        <source>The named port or CAN interface cannot be driven as a serial adapter or CAN interface (for example a file such as /dev/null, or an interface name the CAN library does not know).</source>
        <translation>De opgegeven poort of CAN-interface kan niet als seriële adapter of CAN-interface worden gebruikt (bijvoorbeeld een bestand zoals /dev/null, of een interfacenaam die de CAN-bibliotheek niet kent).</translation>
    </message>
    <message>
        <source>Choose the port of the USB, RS485 or CAN adapter the battery is connected to, then start again.</source>
        <translation>Kies de poort van de USB-, RS485- of CAN-adapter waarop de batterij is aangesloten en begin opnieuw.</translation>
    </message>
    <message>
        <source>An option or file is not valid</source>
        <translation>Een optie of bestand is ongeldig</translation>
    </message>
    <message>
        <source>An option, file or value given to the tool is not valid; the message names it.</source>
        <translation>Een optie, bestand of waarde die aan de tool is gegeven, is ongeldig; de melding noemt ze.</translation>
    </message>
    <message>
        <source>Correct the named option or file, then start again; nothing was written to the battery.</source>
        <translation>Verbeter de genoemde optie of het genoemde bestand en begin opnieuw; er is niets naar de batterij geschreven.</translation>
    </message>
    <message>
        <source>Connection lost during the operation</source>
        <translation>Verbinding verbroken tijdens de bewerking</translation>
    </message>
    <message>
        <source>The cable or adapter disconnected while the tool was talking to the battery: a pulled USB plug, a loose RS485 or CAN connector, or a laptop going to sleep.</source>
        <translation>De kabel of adapter werd losgekoppeld terwijl de tool met de batterij communiceerde: een uitgetrokken USB-stekker, een losse RS485- of CAN-connector, of een laptop die in slaapstand ging.</translation>
    </message>
    <message>
        <source>Reconnect the cable and run the update again: it resumes where it stopped.</source>
        <translation>Sluit de kabel opnieuw aan en start de update opnieuw: ze gaat verder waar ze stopte.</translation>
    </message>
    <message>
        <source>Package damaged or altered</source>
        <translation>Pakket beschadigd of gewijzigd</translation>
    </message>
    <message>
        <source>The package failed an integrity check (format, size, hash or expiry) before anything was written to the battery.</source>
        <translation>Het pakket faalde voor een integriteitscontrole (formaat, grootte, hash of vervaldatum) voordat er iets naar de batterij werd geschreven.</translation>
    </message>
    <message>
        <source>Download the package again from the manufacturer; never use a copy that fails this check.</source>
        <translation>Download het pakket opnieuw bij de fabrikant; gebruik nooit een kopie die voor deze controle faalt.</translation>
    </message>
    <message>
        <source>Package not made for this battery</source>
        <translation>Pakket niet gemaakt voor deze batterij</translation>
    </message>
    <message>
        <source>The package&apos;s model, hardware revisions or minimum bootloader do not match the device; the failed check names which.</source>
        <translation>Het model, de hardwarerevisies of de minimale bootloader van het pakket passen niet bij het apparaat; de mislukte controle zegt welke.</translation>
    </message>
    <message>
        <source>Use the release built for this model and hardware revision; nothing was written to the battery.</source>
        <translation>Gebruik de release die voor dit model en deze hardwarerevisie is gebouwd; er is niets naar de batterij geschreven.</translation>
    </message>
    <message>
        <source>Downgrade blocked by anti-rollback</source>
        <translation>Downgrade geblokkeerd door anti-rollback</translation>
    </message>
    <message>
        <source>The package&apos;s security counter is below the device&apos;s: the battery has accepted a newer security fix and refuses older firmware.</source>
        <translation>De beveiligingsteller van het pakket ligt lager dan die van het apparaat: de batterij heeft een nieuwere beveiligingsfix aanvaard en weigert oudere firmware.</translation>
    </message>
    <message>
        <source>Install the current release or a newer one; older releases can no longer be installed on this battery.</source>
        <translation>Installeer de huidige of een nieuwere release; oudere releases kunnen niet meer op deze batterij worden geïnstalleerd.</translation>
    </message>
    <message>
        <source>The device refused or answered garbage</source>
        <translation>Het apparaat weigerde of antwoordde onzin</translation>
    </message>
    <message>
        <source>The device rejected a request or gave an answer its protocol does not allow: firmware that does not support this operation, or noise on the line.</source>
        <translation>Het apparaat weigerde een verzoek of gaf een antwoord dat het protocol niet toelaat: firmware die deze bewerking niet ondersteunt, of storing op de lijn.</translation>
    </message>
    <message>
        <source>Check that the device&apos;s firmware supports this tool and look at the cabling, then try again.</source>
        <translation>Controleer of de firmware van het apparaat deze tool ondersteunt en kijk de bekabeling na, en probeer het daarna opnieuw.</translation>
    </message>
    <message>
        <source>Cannot write the service record or journal</source>
        <translation>Kan het servicerapport of het journaal niet schrijven</translation>
    </message>
    <message>
        <source>The disk is full, or the history database or the journal folder is not writable.</source>
        <translation>De schijf is vol, of de historiekdatabase of de journaalmap is niet beschrijfbaar.</translation>
    </message>
    <message>
        <source>Free disk space or fix the folder&apos;s permissions, then run the same operation again.</source>
        <translation>Maak schijfruimte vrij of herstel de rechten van de map, en voer dezelfde bewerking opnieuw uit.</translation>
    </message>
</context>
<context>
    <name>UpdatePage</name>
    <message>
        <source>Firmware update</source>
        <translation>Firmware-update</translation>
    </message>
    <message>
        <source>The wizard checks the package&apos;s signature and compatibility, measures the preconditions (charge 20–80 %, temperature 0–45 °C, no load), backs up the configuration, transfers the firmware to the spare slot, reboots, runs the self-test and confirms — or rolls back by itself. Nothing is left half-done.</source>
        <translation>De wizard controleert de handtekening en compatibiliteit van het pakket, meet de voorwaarden (lading 20–80 %, temperatuur 0–45 °C, geen belasting), maakt een back-up van de configuratie, draagt de firmware over naar het reserveslot, herstart, voert de zelftest uit en bevestigt — of draait zelf terug. Niets blijft half afgewerkt.</translation>
    </message>
    <message>
        <source>The battery now</source>
        <translation>De batterij nu</translation>
    </message>
    <message>
        <source>&amp;Update firmware… (Ctrl+U)</source>
        <translation>Firmware &amp;updaten… (Ctrl+U)</translation>
    </message>
    <message>
        <source>Roll &amp;back to the other slot</source>
        <translation>&amp;Terugdraaien naar het andere slot</translation>
    </message>
    <message>
        <source>Nothing was rolled back: %1</source>
        <translation>Er is niets teruggedraaid: %1</translation>
    </message>
    <message>
        <source>Package %1 is ready to install: connect a battery, then open the update wizard.</source>
        <translation>Pakket %1 is klaar om te installeren: verbind een batterij en open dan de updatewizard.</translation>
    </message>
    <message>
        <source>Rolling back: the battery reboots into its other firmware…</source>
        <translation>Terugdraaien: de batterij herstart in haar andere firmware…</translation>
    </message>
    <message>
        <source>Rolled back: the battery runs firmware %1.</source>
        <translation>Teruggedraaid: de batterij draait firmware %1.</translation>
    </message>
</context>
<context>
    <name>UpdateWizard</name>
    <message>
        <source>Firmware update</source>
        <translation>Firmware-update</translation>
    </message>
</context>
<context>
    <name>VerifyPage</name>
    <message>
        <source>Signature and compatibility</source>
        <translation>Handtekening en compatibiliteit</translation>
    </message>
    <message>
        <source>The package is checked on this computer before the battery is touched.</source>
        <translation>Het pakket wordt op deze computer gecontroleerd voordat de batterij wordt aangeraakt.</translation>
    </message>
    <message>
        <source>Firmware version:</source>
        <translation>Firmwareversie:</translation>
    </message>
    <message>
        <source>Released for:</source>
        <translation>Vrijgegeven voor:</translation>
    </message>
    <message>
        <source>Security counter:</source>
        <translation>Beveiligingsteller:</translation>
    </message>
    <message>
        <source>Signed by:</source>
        <translation>Ondertekend door:</translation>
    </message>
    <message>
        <source>Release notes:</source>
        <translation>Release-opmerkingen:</translation>
    </message>
    <message>
        <source>Checking the package…</source>
        <translation>Het pakket wordt gecontroleerd…</translation>
    </message>
    <message>
        <source>The package cannot be checked: %1</source>
        <translation>Het pakket kan niet worden gecontroleerd: %1</translation>
    </message>
    <message>
        <source>%1 is %2 (needs %3)</source>
        <translation>%1 is %2 (vereist: %3)</translation>
    </message>
    <message>
        <source>The package is genuine and made for this battery.</source>
        <translation>Het pakket is echt en gemaakt voor deze batterij.</translation>
    </message>
    <message>
        <source>This package must not be installed: %1</source>
        <translation>Dit pakket mag niet worden geïnstalleerd: %1</translation>
    </message>
    <message>
        <source>What to check: %1</source>
        <translation>Wat te controleren: %1</translation>
    </message>
    <message>
        <source>What to do: %1</source>
        <translation>Wat te doen: %1</translation>
    </message>
</context>
</TS>
