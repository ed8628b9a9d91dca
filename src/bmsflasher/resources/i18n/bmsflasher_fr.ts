<?xml version="1.0" encoding="utf-8"?>
<!DOCTYPE TS>
<TS version="2.1" language="fr">
<context>
    <name>AlarmPanel</name>
    <message>
        <source>Alarm: %1</source>
        <translation>Alarme : %1</translation>
    </message>
    <message>
        <source>DTC %1 (%2): %3</source>
        <translation>DTC %1 (%2) : %3</translation>
    </message>
    <message>
        <source>No active alarms and no stored trouble codes.</source>
        <translation>Aucune alarme active et aucun code défaut enregistré.</translation>
    </message>
</context>
<context>
    <name>AppModel</name>
    <message>
        <source>Unexpected error: %1</source>
        <translation>Erreur inattendue : %1</translation>
    </message>
    <message>
        <source>This is a bug in bmsflasher; the details are in the log.</source>
        <translation>Il s’agit d’un bogue de bmsflasher ; les détails sont dans le journal.</translation>
    </message>
    <message>
        <source>No device is connected.</source>
        <translation>Aucun appareil n’est connecté.</translation>
    </message>
    <message>
        <source>Connect a device first.</source>
        <translation>Connectez d’abord un appareil.</translation>
    </message>
    <message>
        <source>An update is running.</source>
        <translation>Une mise à jour est en cours.</translation>
    </message>
    <message>
        <source>Wait until it has finished.</source>
        <translation>Attendez qu’elle soit terminée.</translation>
    </message>
    <message>
        <source>A connection is being opened already.</source>
        <translation>Une connexion est déjà en cours d’ouverture.</translation>
    </message>
    <message>
        <source>Wait until it has answered or failed.</source>
        <translation>Attendez qu’elle réponde ou échoue.</translation>
    </message>
    <message>
        <source>Connected to %1 (serial %2)</source>
        <translation>Connecté à %1 (numéro de série %2)</translation>
    </message>
    <message>
        <source>Nothing was written: %1 is outside what the battery accepts.</source>
        <translation>Rien n’a été écrit : %1 sort de ce que la batterie accepte.</translation>
    </message>
    <message>
        <source>Correct the values marked in red.</source>
        <translation>Corrigez les valeurs marquées en rouge.</translation>
    </message>
    <message>
        <source>Choose a valid package first.</source>
        <translation>Choisissez d’abord un paquet valide.</translation>
    </message>
    <message>
        <source>The rollback stopped with an unexpected error.</source>
        <translation>Le retour arrière s’est arrêté sur une erreur inattendue.</translation>
    </message>
</context>
<context>
    <name>BackupPage</name>
    <message>
        <source>Configuration backup</source>
        <translation>Sauvegarde de la configuration</translation>
    </message>
    <message>
        <source>Every parameter is read, stored with its checksum, and read back to verify.</source>
        <translation>Chaque paramètre est lu, enregistré avec sa somme de contrôle, puis relu pour vérification.</translation>
    </message>
    <message>
        <source>The procedure checks the package and the battery once more, then backs up the configuration so it can be restored whatever happens next.</source>
        <translation>La procédure vérifie encore une fois le paquet et la batterie, puis sauvegarde la configuration afin de pouvoir la restaurer quoi qu’il arrive.</translation>
    </message>
</context>
<context>
    <name>CampaignRows</name>
    <message>
        <source>Preconditions</source>
        <translation>Conditions préalables</translation>
    </message>
    <message>
        <source>Configuration backup</source>
        <translation>Sauvegarde de la configuration</translation>
    </message>
    <message>
        <source>Transfer</source>
        <translation>Transfert</translation>
    </message>
    <message>
        <source>Test boot</source>
        <translation>Démarrage d’essai</translation>
    </message>
    <message>
        <source>Self-test</source>
        <translation>Autotest</translation>
    </message>
    <message>
        <source>Confirm</source>
        <translation>Confirmation</translation>
    </message>
    <message>
        <source>Configuration check</source>
        <translation>Contrôle de la configuration</translation>
    </message>
    <message>
        <source>Revert</source>
        <translation>Retour arrière</translation>
    </message>
    <message>
        <source>Roll back</source>
        <translation>Retour en arrière</translation>
    </message>
    <message>
        <source>Package check</source>
        <translation>Vérification du paquet</translation>
    </message>
    <message>
        <source>Identify</source>
        <translation>Identification</translation>
    </message>
    <message>
        <source>Reboot</source>
        <translation>Redémarrage</translation>
    </message>
    <message>
        <source>Configuration restore</source>
        <translation>Restauration de la configuration</translation>
    </message>
    <message>
        <source>Confirmed</source>
        <translation>Confirmé</translation>
    </message>
    <message>
        <source>Rolled back</source>
        <translation>Revenu en arrière</translation>
    </message>
    <message>
        <source>Untouched</source>
        <translation>Intact</translation>
    </message>
    <message>
        <source>Refused</source>
        <translation>Refusé</translation>
    </message>
    <message>
        <source>Failed</source>
        <translation>Échec</translation>
    </message>
    <message>
        <source>Updated, not confirmed</source>
        <translation>Mis à jour, non confirmé</translation>
    </message>
    <message>
        <source>Waiting</source>
        <translation>En attente</translation>
    </message>
    <message>
        <source>Running…</source>
        <translation>En cours…</translation>
    </message>
    <message>
        <source>Step done</source>
        <translation>Étape terminée</translation>
    </message>
    <message>
        <source>Step failed</source>
        <translation>Étape échouée</translation>
    </message>
    <message>
        <source>Node</source>
        <translation>Nœud</translation>
    </message>
    <message>
        <source>Tier</source>
        <translation>Niveau</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modèle</translation>
    </message>
    <message>
        <source>Step</source>
        <translation>Étape</translation>
    </message>
    <message>
        <source>Progress</source>
        <translation>Progression</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Résultat</translation>
    </message>
    <message>
        <source>Why</source>
        <translation>Pourquoi</translation>
    </message>
</context>
<context>
    <name>CampaignWizard</name>
    <message>
        <source>No node in fault</source>
        <translation>Aucun nœud en défaut</translation>
    </message>
    <message>
        <source>Every node answers</source>
        <translation>Chaque nœud répond</translation>
    </message>
    <message>
        <source>Every node runs the set</source>
        <translation>Chaque nœud exécute l’ensemble</translation>
    </message>
    <message>
        <source>Pack voltage = sum of modules</source>
        <translation>Tension du pack = somme des modules</translation>
    </message>
    <message>
        <source>Communication between nodes</source>
        <translation>Communication entre les nœuds</translation>
    </message>
    <message>
        <source>Update the pack</source>
        <translation>Mettre à jour le pack</translation>
    </message>
    <message>
        <source>1 · Release bundle</source>
        <translation>1 · Lot de version</translation>
    </message>
    <message>
        <source>A release bundle holds one signed package per node type, released together. The campaign checks every node&apos;s preconditions, backs up every configuration, transfers to every node (BMUs first, the BCU last), test-boots and self-tests every node and the pack, and only then confirms them all. If anything fails before that, every node returns to its previous firmware: the pack never ends on a mix of versions.</source>
        <translation>Un lot de version contient un paquet signé par type de nœud, publiés ensemble. La campagne vérifie les conditions préalables de chaque nœud, sauvegarde chaque configuration, transfère vers chaque nœud (les BMU d’abord, le BCU en dernier), démarre chaque nœud à l’essai, exécute les autotests de chaque nœud et du pack, et seulement ensuite confirme le tout. Si quoi que ce soit échoue avant, chaque nœud revient à son micrologiciel précédent : le pack ne finit jamais sur un mélange de versions.</translation>
    </message>
    <message>
        <source>&amp;Choose…</source>
        <translation>&amp;Choisir…</translation>
    </message>
    <message>
        <source>No bundle chosen</source>
        <translation>Aucun lot choisi</translation>
    </message>
    <message>
        <source>2 · Preconditions of every node</source>
        <translation>2 · Conditions préalables de chaque nœud</translation>
    </message>
    <message>
        <source>3 · Update, node by node</source>
        <translation>3 · Mise à jour, nœud par nœud</translation>
    </message>
    <message>
        <source>Pack rollback</source>
        <translation>Retour en arrière du pack</translation>
    </message>
    <message>
        <source>Pack checks</source>
        <translation>Contrôles du pack</translation>
    </message>
    <message>
        <source>Node</source>
        <translation>Nœud</translation>
    </message>
    <message>
        <source>Check</source>
        <translation>Contrôle</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Valeur</translation>
    </message>
    <message>
        <source>Limit</source>
        <translation>Limite</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Résultat</translation>
    </message>
    <message>
        <source>Check the &amp;pack</source>
        <translation>Vérifier le &amp;pack</translation>
    </message>
    <message>
        <source>&amp;Update the pack</source>
        <translation>&amp;Mettre à jour le pack</translation>
    </message>
    <message>
        <source>Roll &amp;back the pack</source>
        <translation>&amp;Revenir en arrière sur le pack</translation>
    </message>
    <message>
        <source>&amp;Save service report…</source>
        <translation>&amp;Enregistrer le rapport d’intervention…</translation>
    </message>
    <message>
        <source>Cancel</source>
        <translation>Annuler</translation>
    </message>
    <message>
        <source>Close</source>
        <translation>Fermer</translation>
    </message>
    <message>
        <source>The pack has not been read yet: the campaign finds its nodes itself.</source>
        <translation>Le pack n’a pas encore été lu : la campagne trouve elle-même ses nœuds.</translation>
    </message>
    <message>
        <source>The pack on this bus has %1 nodes: %2 BCU, %3 BMC, %4 BMU.</source>
        <translation>Le pack sur ce bus compte %1 nœuds : %2 BCU, %3 BMC, %4 BMU.</translation>
    </message>
    <message>
        <source>Verifying the bundle and measuring every node&apos;s preconditions…</source>
        <translation>Vérification du lot et mesure des conditions préalables de chaque nœud…</translation>
    </message>
    <message>
        <source>Every node passed its preconditions. Update the %1 nodes of the pack to %2?</source>
        <translation>Chaque nœud remplit ses conditions préalables. Mettre à jour les %1 nœuds du pack vers %2 ?</translation>
    </message>
    <message>
        <source>Cancelling: nothing will be written.</source>
        <translation>Annulation : rien ne sera écrit.</translation>
    </message>
    <message>
        <source>Phase: %1</source>
        <translation>Phase : %1</translation>
    </message>
    <message>
        <source>Choose a release bundle</source>
        <translation>Choisir un lot de version</translation>
    </message>
    <message>
        <source>Release bundles (*.bmsbundle)</source>
        <translation>Lots de version (*.bmsbundle)</translation>
    </message>
    <message>
        <source>Save the pack&apos;s service report</source>
        <translation>Enregistrer le rapport d’intervention du pack</translation>
    </message>
    <message>
        <source>Reports (*.pdf *.html)</source>
        <translation>Rapports (*.pdf *.html)</translation>
    </message>
</context>
<context>
    <name>ConfigPage</name>
    <message>
        <source>Configuration</source>
        <translation>Configuration</translation>
    </message>
    <message>
        <source>&amp;Read</source>
        <translation>&amp;Lire</translation>
    </message>
    <message>
        <source>Read every parameter from the battery (Ctrl+Shift+R).</source>
        <translation>Lire tous les paramètres de la batterie (Ctrl+Maj+R).</translation>
    </message>
    <message>
        <source>&amp;Write changes</source>
        <translation>É&amp;crire les modifications</translation>
    </message>
    <message>
        <source>Write the edited parameters to the battery (Ctrl+S); values marked in red are never sent.</source>
        <translation>Écrire les paramètres modifiés dans la batterie (Ctrl+S) ; les valeurs marquées en rouge ne sont jamais envoyées.</translation>
    </message>
    <message>
        <source>&amp;Back up</source>
        <translation>&amp;Sauvegarder</translation>
    </message>
    <message>
        <source>Store every parameter in the service history (Ctrl+B).</source>
        <translation>Enregistrer tous les paramètres dans l’historique d’intervention (Ctrl+B).</translation>
    </message>
    <message>
        <source>Parameter</source>
        <translation>Paramètre</translation>
    </message>
    <message>
        <source>Value</source>
        <translation>Valeur</translation>
    </message>
    <message>
        <source>Unit</source>
        <translation>Unité</translation>
    </message>
    <message>
        <source>Allowed</source>
        <translation>Autorisé</translation>
    </message>
    <message>
        <source>Backups of this battery</source>
        <translation>Sauvegardes de cette batterie</translation>
    </message>
    <message>
        <source>Backup</source>
        <translation>Sauvegarde</translation>
    </message>
    <message>
        <source>Taken</source>
        <translation>Prise le</translation>
    </message>
    <message>
        <source>SHA-256</source>
        <translation>SHA-256</translation>
    </message>
    <message>
        <source>Res&amp;tore selected</source>
        <translation>&amp;Restaurer la sélection</translation>
    </message>
    <message>
        <source>Com&amp;pare with battery</source>
        <translation>Com&amp;parer avec la batterie</translation>
    </message>
    <message>
        <source>This battery does not describe its parameters: only the type of each value is checked here; the battery checks the range when the value is written.</source>
        <translation>Cette batterie ne décrit pas ses paramètres : seul le type de chaque valeur est vérifié ici ; la batterie vérifie la plage lorsque la valeur est écrite.</translation>
    </message>
    <message>
        <source>read-only</source>
        <translation>lecture seule</translation>
    </message>
    <message>
        <source>%1 to %2</source>
        <translation>%1 à %2</translation>
    </message>
    <message>
        <source>at least %1</source>
        <translation>au moins %1</translation>
    </message>
    <message>
        <source>at most %1</source>
        <translation>au plus %1</translation>
    </message>
    <message>
        <source>Set at the factory: it cannot be changed here.</source>
        <translation>Réglé en usine : il ne peut pas être modifié ici.</translation>
    </message>
    <message>
        <source>Allowed: %1</source>
        <translation>Autorisé : %1</translation>
    </message>
    <message numerus="yes">
        <source>%n parameter(s), schema version %1.</source>
        <translation>
            <numerusform>%n paramètre, version du schéma %1.</numerusform>
            <numerusform>%n paramètres, version du schéma %1.</numerusform>
        </translation>
    </message>
    <message>
        <source>Type a number, for example 3.5.</source>
        <translation>Saisissez un nombre, par exemple 3,5.</translation>
    </message>
    <message>
        <source>Type a whole number.</source>
        <translation>Saisissez un nombre entier.</translation>
    </message>
    <message>
        <source>Tick or untick the box.</source>
        <translation>Cochez ou décochez la case.</translation>
    </message>
    <message>
        <source>Too low: the battery accepts at least %1.</source>
        <translation>Trop bas : la batterie accepte au moins %1.</translation>
    </message>
    <message>
        <source>Too high: the battery accepts at most %1.</source>
        <translation>Trop haut : la batterie accepte au plus %1.</translation>
    </message>
    <message>
        <source>Not allowed: choose one of %1.</source>
        <translation>Non autorisé : choisissez l’une de ces valeurs : %1.</translation>
    </message>
    <message>
        <source>Nothing was written: correct %1 first.</source>
        <translation>Rien n’a été écrit : corrigez d’abord %1.</translation>
    </message>
    <message>
        <source>Differences (backup → battery now):</source>
        <translation>Différences (sauvegarde → batterie maintenant) :</translation>
    </message>
    <message numerus="yes">
        <source>%n parameter(s) differ (backup → battery now):</source>
        <translation>
            <numerusform>%n paramètre diffère (sauvegarde → batterie maintenant) :</numerusform>
            <numerusform>%n paramètres diffèrent (sauvegarde → batterie maintenant) :</numerusform>
        </translation>
    </message>
    <message>
        <source>Battery</source>
        <translation>Batterie</translation>
    </message>
    <message>
        <source>The battery accepted the configuration.</source>
        <translation>La batterie a accepté la configuration.</translation>
    </message>
    <message>
        <source>Backup #%1 stored and verified.</source>
        <translation>Sauvegarde n° %1 enregistrée et vérifiée.</translation>
    </message>
    <message>
        <source>No differences: the battery matches the backup.</source>
        <translation>Aucune différence : la batterie correspond à la sauvegarde.</translation>
    </message>
</context>
<context>
    <name>DevicesPage</name>
    <message>
        <source>Devices</source>
        <translation>Appareils</translation>
    </message>
    <message>
        <source>&amp;Scan (F5)</source>
        <translation>&amp;Rechercher (F5)</translation>
    </message>
    <message>
        <source>Look for adapters and batteries on every port and bus.</source>
        <translation>Rechercher les adaptateurs et les batteries sur chaque port et chaque bus.</translation>
    </message>
    <message>
        <source>Batteries found</source>
        <translation>Batteries trouvées</translation>
    </message>
    <message>
        <source>Serial</source>
        <translation>N° de série</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modèle</translation>
    </message>
    <message>
        <source>Mode</source>
        <translation>Mode</translation>
    </message>
    <message>
        <source>Firmware</source>
        <translation>Micrologiciel</translation>
    </message>
    <message>
        <source>Protocol</source>
        <translation>Protocole</translation>
    </message>
    <message>
        <source>Link</source>
        <translation>Liaison</translation>
    </message>
    <message>
        <source>Address</source>
        <translation>Adresse</translation>
    </message>
    <message>
        <source>&amp;Connect</source>
        <translation>&amp;Connecter</translation>
    </message>
    <message>
        <source>&amp;Recover…</source>
        <translation>Ré&amp;cupérer…</translation>
    </message>
    <message>
        <source>This battery has no bootable firmware: flash the last stable version in recovery mode.</source>
        <translation>Cette batterie n’a aucun micrologiciel amorçable : flashez la dernière version stable en mode de récupération.</translation>
    </message>
    <message>
        <source>Adapters</source>
        <translation>Adaptateurs</translation>
    </message>
    <message>
        <source>Adapter</source>
        <translation>Adaptateur</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>État</translation>
    </message>
    <message>
        <source>Details</source>
        <translation>Détails</translation>
    </message>
    <message>
        <source>Connect by hand</source>
        <translation>Connexion manuelle</translation>
    </message>
    <message>
        <source>&amp;Link:</source>
        <translation>&amp;Liaison :</translation>
    </message>
    <message>
        <source>&amp;Port or URL:</source>
        <translation>&amp;Port ou URL :</translation>
    </message>
    <message>
        <source>&amp;Baud rate:</source>
        <translation>&amp;Débit en bauds :</translation>
    </message>
    <message>
        <source>&amp;Interface:</source>
        <translation>&amp;Interface :</translation>
    </message>
    <message>
        <source>C&amp;hannel:</source>
        <translation>C&amp;anal :</translation>
    </message>
    <message>
        <source>Bit&amp;rate:</source>
        <translation>Dé&amp;bit binaire :</translation>
    </message>
    <message>
        <source>A&amp;ddressing:</source>
        <translation>A&amp;dressage :</translation>
    </message>
    <message>
        <source>&amp;Node:</source>
        <translation>&amp;Nœud :</translation>
    </message>
    <message>
        <source>S&amp;top bits:</source>
        <translation>Bi&amp;ts de stop :</translation>
    </message>
    <message>
        <source>&amp;Gateway (host:port):</source>
        <translation>Passerelle (&amp;hôte:port) :</translation>
    </message>
    <message>
        <source>Modbus &amp;address:</source>
        <translation>&amp;Adresse Modbus :</translation>
    </message>
    <message>
        <source>&amp;Up to address:</source>
        <translation>&amp;Jusqu&apos;à l&apos;adresse :</translation>
    </message>
    <message>
        <source>D&amp;BC file:</source>
        <translation>Fichier D&amp;BC :</translation>
    </message>
    <message>
        <source>Signal &amp;map:</source>
        <translation>Table de &amp;signaux :</translation>
    </message>
    <message>
        <source>Serial (USB, UART, RS485) — SMP</source>
        <translation>Série (USB, UART, RS485) — SMP</translation>
    </message>
    <message>
        <source>CAN — UDS</source>
        <translation>CAN — UDS</translation>
    </message>
    <message>
        <source>CAN broadcast (DBC) — read-only</source>
        <translation>Diffusions CAN (DBC) — lecture seule</translation>
    </message>
    <message>
        <source>RS485 — Modbus RTU (rack module)</source>
        <translation>RS485 — Modbus RTU (module de rack)</translation>
    </message>
    <message>
        <source>Ethernet — Modbus TCP gateway</source>
        <translation>Ethernet — passerelle Modbus TCP</translation>
    </message>
    <message>
        <source>Even (E)</source>
        <translation>Paire (E)</translation>
    </message>
    <message>
        <source>None (N)</source>
        <translation>Aucune (N)</translation>
    </message>
    <message>
        <source>Odd (O)</source>
        <translation>Impaire (O)</translation>
    </message>
    <message>
        <source>192.168.1.50:502</source>
        <translation>192.168.1.50:502</translation>
    </message>
    <message>
        <source>the BMS&apos;s DBC file, e.g. pack.dbc</source>
        <translation>le fichier DBC du BMS, p. ex. pack.dbc</translation>
    </message>
    <message>
        <source>which signal is which, e.g. pack.map.json</source>
        <translation>quel signal est quoi, p. ex. pack.map.json</translation>
    </message>
    <message>
        <source>Listen without sending and decode the BMS&apos;s own broadcasts (docs/can-tools.md).</source>
        <translation>Écouter sans émettre et décoder les diffusions du BMS (docs/can-tools.md).</translation>
    </message>
    <message>
        <source>The module&apos;s unit address on the bus (1 to 247).</source>
        <translation>L&apos;adresse d&apos;unité du module sur le bus (1 à 247).</translation>
    </message>
    <message>
        <source>Read the bus asks every address from the Modbus address up to this one.</source>
        <translation>Lire le bus interroge chaque adresse, de l&apos;adresse Modbus jusqu&apos;à celle-ci.</translation>
    </message>
    <message>
        <source>&amp;Watch the rack</source>
        <translation>&amp;Suivre le rack</translation>
    </message>
    <message>
        <source>Show the live cells of every module the bus read found, side by side (Live page).</source>
        <translation>Afficher en direct les cellules de chaque module trouvé en lisant le bus, côte à côte (page Données en direct).</translation>
    </message>
    <message>
        <source>List every module that answers on this RS485 line or gateway, one address after another.</source>
        <translation>Lister chaque module qui répond sur cette ligne RS485 ou cette passerelle, une adresse après l&apos;autre.</translation>
    </message>
    <message>
        <source>11-bit normal (0x7E0 / 0x7E8)</source>
        <translation>11 bits normal (0x7E0 / 0x7E8)</translation>
    </message>
    <message>
        <source>29-bit normal fixed (0x18DA…, J1939-style buses)</source>
        <translation>29 bits normal fixe (0x18DA…, bus de type J1939)</translation>
    </message>
    <message>
        <source>Which CAN identifiers the BMS answers on; a scan reports it for each battery found.</source>
        <translation>Les identifiants CAN sur lesquels le BMS répond ; une recherche l’indique pour chaque batterie trouvée.</translation>
    </message>
    <message>
        <source>/dev/ttyUSB0, COM3 or socket://host:port</source>
        <translation>/dev/ttyUSB0, COM3 ou socket://hôte:port</translation>
    </message>
    <message>
        <source>C&amp;onnect</source>
        <translation>C&amp;onnecter</translation>
    </message>
    <message>
        <source>&amp;Disconnect</source>
        <translation>&amp;Déconnecter</translation>
    </message>
    <message>
        <source>Connected battery</source>
        <translation>Batterie connectée</translation>
    </message>
    <message>
        <source>Scanning every adapter…</source>
        <translation>Recherche sur tous les adaptateurs…</translation>
    </message>
    <message numerus="yes">
        <source>%n battery(ies) found in %1 s, the connected one included.</source>
        <translation>
            <numerusform>%n batterie trouvée en %1 s, celle qui est connectée comprise.</numerusform>
            <numerusform>%n batteries trouvées en %1 s, celle qui est connectée comprise.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n battery(ies) found in %1 s.</source>
        <translation>
            <numerusform>%n batterie trouvée en %1 s.</numerusform>
            <numerusform>%n batteries trouvées en %1 s.</numerusform>
        </translation>
    </message>
    <message>
        <source>&apos;%1&apos; is not a gateway address.</source>
        <translation>« %1 » n&apos;est pas une adresse de passerelle.</translation>
    </message>
    <message>
        <source>Type host:port, such as 192.168.1.50:502.</source>
        <translation>Saisissez hôte:port, par exemple 192.168.1.50:502.</translation>
    </message>
    <message>
        <source>Choose the DBC file and its signal map first.</source>
        <translation>Choisissez d&apos;abord le fichier DBC et sa table de signaux.</translation>
    </message>
    <message>
        <source>Reading the bus: address %1 of %2…</source>
        <translation>Lecture du bus : adresse %1 sur %2…</translation>
    </message>
    <message numerus="yes">
        <source>%n module(s) answered on the bus in %1 s.</source>
        <translation>
            <numerusform>%n module a répondu sur le bus en %1 s.</numerusform>
            <numerusform>%n modules ont répondu sur le bus en %1 s.</numerusform>
        </translation>
    </message>
    <message>
        <source>Stopped after %1 addresses: the read took too long.</source>
        <translation>Arrêté après %1 adresses : la lecture a pris trop de temps.</translation>
    </message>
    <message>
        <source>Still connected to %1 until it answers.</source>
        <translation>Toujours connecté à %1 jusqu’à sa réponse.</translation>
    </message>
    <message>
        <source>(unknown)</source>
        <translation>(inconnu)</translation>
    </message>
    <message>
        <source>Par&amp;ity:</source>
        <translation>Par&amp;ité :</translation>
    </message>
    <message>
        <source>R&amp;ead the bus</source>
        <translation>Lire le &amp;bus</translation>
    </message>
    <message>
        <source>No bootable firmware: use Recover.</source>
        <translation>Aucun micrologiciel amorçable : utilisez Récupérer.</translation>
    </message>
    <message>
        <source>This battery is connected now.</source>
        <translation>Cette batterie est connectée.</translation>
    </message>
    <message>
        <source>Driver guide:</source>
        <translation>Guide des pilotes :</translation>
    </message>
    <message>
        <source>Download:</source>
        <translation>Téléchargement :</translation>
    </message>
    <message>
        <source>Type the serial port or URL first.</source>
        <translation>Saisissez d’abord le port série ou l’URL.</translation>
    </message>
    <message>
        <source>&apos;%1&apos; is not a baud rate.</source>
        <translation>« %1 » n’est pas un débit en bauds.</translation>
    </message>
    <message>
        <source>Use a whole number such as 115200.</source>
        <translation>Utilisez un nombre entier comme 115200.</translation>
    </message>
    <message>
        <source>Type the CAN interface and channel first.</source>
        <translation>Saisissez d’abord l’interface CAN et le canal.</translation>
    </message>
    <message>
        <source>Connected; identifying the battery…</source>
        <translation>Connecté ; identification de la batterie…</translation>
    </message>
    <message>
        <source>Not connected.</source>
        <translation>Non connecté.</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>Connexion à %1…</translation>
    </message>
    <message>
        <source>Connected to %1, serial %2.</source>
        <translation>Connecté à %1, numéro de série %2.</translation>
    </message>
</context>
<context>
    <name>DiagnosticsPage</name>
    <message>
        <source>Diagnostics</source>
        <translation>Diagnostic</translation>
    </message>
    <message>
        <source>Read &amp;DTCs</source>
        <translation>Lire les &amp;DTC</translation>
    </message>
    <message>
        <source>Read the stored diagnostic trouble codes (Ctrl+D).</source>
        <translation>Lire les codes défaut de diagnostic enregistrés (Ctrl+D).</translation>
    </message>
    <message>
        <source>C&amp;lear DTCs</source>
        <translation>&amp;Effacer les DTC</translation>
    </message>
    <message>
        <source>Erase the stored trouble codes, then read them again.</source>
        <translation>Effacer les codes défaut enregistrés, puis les relire.</translation>
    </message>
    <message>
        <source>Diagnostic trouble codes</source>
        <translation>Codes défaut de diagnostic</translation>
    </message>
    <message>
        <source>Code</source>
        <translation>Code</translation>
    </message>
    <message>
        <source>Severity</source>
        <translation>Gravité</translation>
    </message>
    <message>
        <source>Status</source>
        <translation>État</translation>
    </message>
    <message>
        <source>Description</source>
        <translation>Description</translation>
    </message>
    <message>
        <source>Link statistics</source>
        <translation>Statistiques de la liaison</translation>
    </message>
    <message>
        <source>Link:</source>
        <translation>Liaison :</translation>
    </message>
    <message>
        <source>Requests:</source>
        <translation>Requêtes :</translation>
    </message>
    <message>
        <source>Retries:</source>
        <translation>Répétitions :</translation>
    </message>
    <message>
        <source>Timeouts:</source>
        <translation>Délais dépassés :</translation>
    </message>
    <message>
        <source>Errors:</source>
        <translation>Erreurs :</translation>
    </message>
    <message>
        <source>Last round trip:</source>
        <translation>Dernier aller-retour :</translation>
    </message>
    <message>
        <source>Bytes sent:</source>
        <translation>Octets envoyés :</translation>
    </message>
    <message>
        <source>Bytes received:</source>
        <translation>Octets reçus :</translation>
    </message>
    <message>
        <source>Record the CAN bus during updates</source>
        <translation>Enregistrer le bus CAN pendant les mises à jour</translation>
    </message>
    <message>
        <source>Every frame on the battery&apos;s CAN adapter while an update runs is written to a bus log (candump format, size-capped and rotated) kept with the session&apos;s report.</source>
        <translation>Chaque trame sur l&apos;adaptateur CAN de la batterie pendant une mise à jour est écrite dans un journal de bus (format candump, taille plafonnée, rotation) conservé avec le rapport de la session.</translation>
    </message>
    <message numerus="yes">
        <source>%n stored trouble code(s).</source>
        <translation>
            <numerusform>%n code de défaut enregistré.</numerusform>
            <numerusform>%n codes de défaut enregistrés.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>EngineText</name>
    <message>
        <source>the update wizard (Update page)</source>
        <translation>l’assistant de mise à jour (page Mise à jour)</translation>
    </message>
    <message>
        <source>Roll back on the Update page</source>
        <translation>Revenir en arrière sur la page Mise à jour</translation>
    </message>
    <message>
        <source>Recover… on the Devices page</source>
        <translation>Récupérer… sur la page Appareils</translation>
    </message>
    <message>
        <source>Scan on the Devices page</source>
        <translation>Rechercher sur la page Appareils</translation>
    </message>
    <message>
        <source>the History page</source>
        <translation>la page Historique</translation>
    </message>
    <message>
        <source>Restore selected on the Configuration page</source>
        <translation>Restaurer la sélection sur la page Configuration</translation>
    </message>
    <message>
        <source>Back up on the Configuration page</source>
        <translation>Sauvegarder sur la page Configuration</translation>
    </message>
    <message>
        <source>the Configuration page</source>
        <translation>la page Configuration</translation>
    </message>
    <message>
        <source>Update it with the update wizard (Update page): it checks the battery first.</source>
        <translation>Mettez-la à jour avec l’assistant de mise à jour (page Mise à jour) : il vérifie d’abord la batterie.</translation>
    </message>
    <message>
        <source>To install a newer release, open the update wizard (Update page): the package is verified, self-tested and rolled back automatically if it fails.</source>
        <translation>Pour installer une version plus récente, ouvrez l’assistant de mise à jour (page Mise à jour) : le paquet est vérifié, autotesté et annulé automatiquement en cas d’échec.</translation>
    </message>
    <message>
        <source>Run the update again with that package to finish it, or press Roll back on the Update page.</source>
        <translation>Relancez la mise à jour avec ce paquet pour la terminer, ou appuyez sur Revenir en arrière sur la page Mise à jour.</translation>
    </message>
    <message>
        <source>The service history was changed outside this application: keep the file for inspection and tell whoever looks after this computer.</source>
        <translation>L’historique d’entretien a été modifié en dehors de cette application : conservez le fichier pour examen et prévenez la personne qui gère cet ordinateur.</translation>
    </message>
    <message>
        <source>The device is in recovery mode with no bootable firmware, so the battery cannot be measured; bring it back with Recover… on the Devices page first.</source>
        <translation>L’appareil est en mode de récupération sans micrologiciel amorçable, la batterie ne peut donc pas être mesurée ; récupérez-la d’abord avec Récupérer… sur la page Appareils.</translation>
    </message>
    <message>
        <source>the matching page of this window</source>
        <translation>la page correspondante de cette fenêtre</translation>
    </message>
</context>
<context>
    <name>ErrorBanner</name>
    <message>
        <source>Dismiss (Esc)</source>
        <translation>Fermer (Échap)</translation>
    </message>
</context>
<context>
    <name>HistoryPage</name>
    <message>
        <source>Report saved to %1</source>
        <translation>Rapport enregistré dans %1</translation>
    </message>
    <message>
        <source>History</source>
        <translation>Historique</translation>
    </message>
    <message>
        <source>Re&amp;fresh</source>
        <translation>&amp;Actualiser</translation>
    </message>
    <message>
        <source>Read the service history again (Ctrl+H).</source>
        <translation>Relire l’historique d’intervention (Ctrl+H).</translation>
    </message>
    <message>
        <source>Save &amp;report…</source>
        <translation>Enregistrer le &amp;rapport…</translation>
    </message>
    <message>
        <source>Save the selected session as an HTML or PDF service report.</source>
        <translation>Enregistrer la session choisie comme rapport d’intervention HTML ou PDF.</translation>
    </message>
    <message>
        <source>Session</source>
        <translation>Session</translation>
    </message>
    <message>
        <source>Started</source>
        <translation>Début</translation>
    </message>
    <message>
        <source>Battery</source>
        <translation>Batterie</translation>
    </message>
    <message>
        <source>Kind</source>
        <translation>Type</translation>
    </message>
    <message>
        <source>Outcome</source>
        <translation>Résultat</translation>
    </message>
    <message>
        <source>Firmware</source>
        <translation>Micrologiciel</translation>
    </message>
    <message numerus="yes">
        <source>%n session(s) recorded.</source>
        <translation>
            <numerusform>%n session enregistrée.</numerusform>
            <numerusform>%n sessions enregistrées.</numerusform>
        </translation>
    </message>
    <message>
        <source>Session #%1 — %2 on %3</source>
        <translation>Session n° %1 — %2 sur %3</translation>
    </message>
    <message>
        <source>Operator: %1</source>
        <translation>Technicien : %1</translation>
    </message>
    <message>
        <source>Outcome: %1</source>
        <translation>Résultat : %1</translation>
    </message>
    <message>
        <source>Steps:</source>
        <translation>Étapes :</translation>
    </message>
    <message>
        <source>Measurements:</source>
        <translation>Mesures :</translation>
    </message>
    <message>
        <source>Save service report</source>
        <translation>Enregistrer le rapport d’intervention</translation>
    </message>
    <message>
        <source>Service reports (*.html *.pdf)</source>
        <translation>Rapports d’intervention (*.html *.pdf)</translation>
    </message>
</context>
<context>
    <name>IdentityView</name>
    <message>
        <source>active</source>
        <translation>active</translation>
    </message>
    <message>
        <source>confirmed</source>
        <translation>confirmée</translation>
    </message>
    <message>
        <source>pending</source>
        <translation>en attente</translation>
    </message>
    <message>
        <source>permanent</source>
        <translation>permanente</translation>
    </message>
    <message>
        <source>bootable</source>
        <translation>amorçable</translation>
    </message>
    <message>
        <source>empty</source>
        <translation>vide</translation>
    </message>
    <message>
        <source>Model:</source>
        <translation>Modèle :</translation>
    </message>
    <message>
        <source>Serial number:</source>
        <translation>Numéro de série :</translation>
    </message>
    <message>
        <source>Hardware revision:</source>
        <translation>Révision matérielle :</translation>
    </message>
    <message>
        <source>Firmware:</source>
        <translation>Micrologiciel :</translation>
    </message>
    <message>
        <source>Bootloader:</source>
        <translation>Chargeur d’amorçage :</translation>
    </message>
    <message>
        <source>Mode:</source>
        <translation>Mode :</translation>
    </message>
    <message>
        <source>Security counter:</source>
        <translation>Compteur de sécurité :</translation>
    </message>
    <message>
        <source>Slot 0 (primary):</source>
        <translation>Emplacement 0 (principal) :</translation>
    </message>
    <message>
        <source>Slot 1 (secondary):</source>
        <translation>Emplacement 1 (secondaire) :</translation>
    </message>
</context>
<context>
    <name>LivePage</name>
    <message>
        <source>Live data</source>
        <translation>Données en direct</translation>
    </message>
    <message>
        <source>Resume (Ctrl+P)</source>
        <translation>Reprendre (Ctrl+P)</translation>
    </message>
    <message>
        <source>Pause (Ctrl+P)</source>
        <translation>Pause (Ctrl+P)</translation>
    </message>
    <message>
        <source>Freeze the charts; samples keep being collected.</source>
        <translation>Figer les graphiques ; les mesures continuent d’être collectées.</translation>
    </message>
    <message>
        <source>Stop recording</source>
        <translation>Arrêter l’enregistrement</translation>
    </message>
    <message>
        <source>Record CSV…</source>
        <translation>Enregistrer en CSV…</translation>
    </message>
    <message>
        <source>Record every sample to a CSV file (Ctrl+R).</source>
        <translation>Enregistrer chaque mesure dans un fichier CSV (Ctrl+R).</translation>
    </message>
    <message>
        <source>Cell</source>
        <translation>Cellule</translation>
    </message>
    <message>
        <source>Voltage (mV)</source>
        <translation>Tension (mV)</translation>
    </message>
    <message>
        <source>Stop watching the rack</source>
        <translation>Ne plus suivre le rack</translation>
    </message>
    <message>
        <source>Cell (module after module in the bars)</source>
        <translation>Cellule (module après module dans les barres)</translation>
    </message>
    <message>
        <source>Module address</source>
        <translation>Adresse du module</translation>
    </message>
    <message>
        <source>no answer</source>
        <translation>pas de réponse</translation>
    </message>
    <message>
        <source>Seconds before now</source>
        <translation>Secondes avant maintenant</translation>
    </message>
    <message>
        <source>Pack voltage (V)</source>
        <translation>Tension du pack (V)</translation>
    </message>
    <message>
        <source>Current (A)</source>
        <translation>Courant (A)</translation>
    </message>
    <message>
        <source>SOC and SOH (%)</source>
        <translation>SOC et SOH (%)</translation>
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
        <translation>Température (°C)</translation>
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
        <translation>Aucun appareil connecté : allez dans Appareils et connectez-en un.</translation>
    </message>
    <message numerus="yes">
        <source>Rack: %n module(s).</source>
        <translation>
            <numerusform>Rack : %n module.</numerusform>
            <numerusform>Rack : %n modules.</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n not answering: %1.</source>
        <translation>
            <numerusform>%n ne répond pas : %1.</numerusform>
            <numerusform>%n ne répondent pas : %1.</numerusform>
        </translation>
    </message>
    <message>
        <source>%1, serial %2, firmware %3</source>
        <translation>%1, n° de série %2, micrologiciel %3</translation>
    </message>
    <message>
        <source>The device did not answer: %1</source>
        <translation>L’appareil n’a pas répondu : %1</translation>
    </message>
    <message>
        <source>Record live data</source>
        <translation>Enregistrer les données en direct</translation>
    </message>
    <message>
        <source>CSV files (*.csv)</source>
        <translation>Fichiers CSV (*.csv)</translation>
    </message>
    <message>
        <source>Recording to %1</source>
        <translation>Enregistrement dans %1</translation>
    </message>
</context>
<context>
    <name>MainWindow</name>
    <message>
        <source>bmsflasher — battery service tool</source>
        <translation>bmsflasher — outil de maintenance des batteries</translation>
    </message>
    <message>
        <source>&amp;Devices</source>
        <translation>&amp;Appareils</translation>
    </message>
    <message>
        <source>&amp;Live</source>
        <translation>&amp;Direct</translation>
    </message>
    <message>
        <source>&amp;Update</source>
        <translation>&amp;Mise à jour</translation>
    </message>
    <message>
        <source>&amp;Configuration</source>
        <translation>&amp;Configuration</translation>
    </message>
    <message>
        <source>Dia&amp;gnostics</source>
        <translation>Dia&amp;gnostic</translation>
    </message>
    <message>
        <source>&amp;History</source>
        <translation>&amp;Historique</translation>
    </message>
    <message>
        <source>&amp;Pack</source>
        <translation>&amp;Pack</translation>
    </message>
    <message>
        <source>&amp;File</source>
        <translation>&amp;Fichier</translation>
    </message>
    <message>
        <source>&amp;Quit</source>
        <translation>&amp;Quitter</translation>
    </message>
    <message>
        <source>&amp;View</source>
        <translation>Afficha&amp;ge</translation>
    </message>
    <message>
        <source>&amp;Theme</source>
        <translation>&amp;Thème</translation>
    </message>
    <message>
        <source>&amp;Light</source>
        <translation>&amp;Clair</translation>
    </message>
    <message>
        <source>&amp;Dark</source>
        <translation>&amp;Sombre</translation>
    </message>
    <message>
        <source>&amp;Language</source>
        <translation>&amp;Langue</translation>
    </message>
    <message>
        <source>&amp;Battery</source>
        <translation>&amp;Batterie</translation>
    </message>
    <message>
        <source>&amp;Scan for batteries</source>
        <translation>&amp;Rechercher des batteries</translation>
    </message>
    <message>
        <source>&amp;Update firmware…</source>
        <translation>&amp;Mettre à jour le micrologiciel…</translation>
    </message>
    <message>
        <source>&amp;Disconnect</source>
        <translation>&amp;Déconnecter</translation>
    </message>
    <message>
        <source>The translation could not be loaded; the interface stays in English.</source>
        <translation>La traduction n’a pas pu être chargée ; l’interface reste en anglais.</translation>
    </message>
    <message>
        <source>Connecting to %1…</source>
        <translation>Connexion à %1…</translation>
    </message>
    <message>
        <source>Not connected</source>
        <translation>Non connecté</translation>
    </message>
    <message>
        <source>%1 · %2 · firmware %3 · %4</source>
        <translation>%1 · %2 · micrologiciel %3 · %4</translation>
    </message>
    <message>
        <source>Working…</source>
        <translation>En cours…</translation>
    </message>
    <message>
        <source>Connect a battery before updating it.</source>
        <translation>Connectez une batterie avant de la mettre à jour.</translation>
    </message>
    <message>
        <source>%1 is not a firmware package (.bmspkg).</source>
        <translation>%1 n’est pas un paquet de micrologiciel (.bmspkg).</translation>
    </message>
    <message>
        <source>Open a .bmspkg file from the battery&apos;s manufacturer.</source>
        <translation>Ouvrez un fichier .bmspkg du fabricant de la batterie.</translation>
    </message>
    <message>
        <source>The package %1 does not exist or cannot be read.</source>
        <translation>Le paquet %1 n’existe pas ou ne peut pas être lu.</translation>
    </message>
    <message>
        <source>An update is running: the window closes when it has reached a safe end.</source>
        <translation>Une mise à jour est en cours : la fenêtre se fermera lorsqu’elle aura atteint une fin sûre.</translation>
    </message>
    <message>
        <source>A pack campaign is running: the window closes when it has reached a safe end.</source>
        <translation>Une campagne sur le pack est en cours : la fenêtre se fermera quand elle aura atteint une fin sûre.</translation>
    </message>
</context>
<context>
    <name>MeasurementTable</name>
    <message>
        <source>Check</source>
        <translation>Contrôle</translation>
    </message>
    <message>
        <source>Measured</source>
        <translation>Mesuré</translation>
    </message>
    <message>
        <source>Limit</source>
        <translation>Limite</translation>
    </message>
    <message>
        <source>Result</source>
        <translation>Résultat</translation>
    </message>
    <message>
        <source>Why it matters</source>
        <translation>Pourquoi c’est important</translation>
    </message>
    <message>
        <source>pass</source>
        <translation>réussi</translation>
    </message>
    <message>
        <source>fail (may be overridden)</source>
        <translation>échec (peut être forcé)</translation>
    </message>
    <message>
        <source>FAIL</source>
        <translation>ÉCHEC</translation>
    </message>
</context>
<context>
    <name>PackModel</name>
    <message>
        <source>Give the pack&apos;s CAN bus (interface, channel, bit rate) first.</source>
        <translation>Indiquez d’abord le bus CAN du pack (interface, canal, débit).</translation>
    </message>
</context>
<context>
    <name>PackPage</name>
    <message>
        <source>Pack</source>
        <translation>Pack</translation>
    </message>
    <message>
        <source>A pack&apos;s nodes — one BCU, its BMCs and their BMUs — share one CAN bus. Read the pack to list every node, watch every BMU&apos;s cells, and update the whole pack to one release bundle: every node ends on the new set, or every node goes back to its old one.</source>
        <translation>Les nœuds d’un pack — un BCU, ses BMC et leurs BMU — partagent un bus CAN. Lisez le pack pour lister chaque nœud, suivez les cellules de chaque BMU et mettez tout le pack à jour vers un lot de version : chaque nœud finit sur le nouvel ensemble, ou chaque nœud revient à l’ancien.</translation>
    </message>
    <message>
        <source>The pack&apos;s CAN bus</source>
        <translation>Bus CAN du pack</translation>
    </message>
    <message>
        <source>Interface</source>
        <translation>Interface</translation>
    </message>
    <message>
        <source>Channel</source>
        <translation>Canal</translation>
    </message>
    <message>
        <source>e.g. can0 or /dev/ttyACM0</source>
        <translation>p. ex. can0 ou /dev/ttyACM0</translation>
    </message>
    <message>
        <source>Bit rate</source>
        <translation>Débit</translation>
    </message>
    <message>
        <source>&amp;Read the pack</source>
        <translation>&amp;Lire le pack</translation>
    </message>
    <message>
        <source>Start a &amp;demo pack</source>
        <translation>Démarrer un pack de &amp;démo</translation>
    </message>
    <message>
        <source>Live cells of every BMU</source>
        <translation>Cellules en direct de chaque BMU</translation>
    </message>
    <message>
        <source>Cell</source>
        <translation>Cellule</translation>
    </message>
    <message>
        <source>BMU address</source>
        <translation>Adresse du BMU</translation>
    </message>
    <message>
        <source>Voltage (mV)</source>
        <translation>Tension (mV)</translation>
    </message>
    <message>
        <source>no answer</source>
        <translation>pas de réponse</translation>
    </message>
    <message>
        <source>&amp;Update the pack…</source>
        <translation>&amp;Mettre à jour le pack…</translation>
    </message>
    <message>
        <source>Roll &amp;back the pack</source>
        <translation>&amp;Revenir en arrière sur le pack</translation>
    </message>
    <message>
        <source>&amp;Stop watching the cells</source>
        <translation>Ne plus &amp;suivre les cellules</translation>
    </message>
    <message>
        <source>&amp;Watch the cells</source>
        <translation>&amp;Suivre les cellules</translation>
    </message>
    <message>
        <source>%1 BMUs, %2 cells</source>
        <translation>%1 BMU, %2 cellules</translation>
    </message>
    <message>
        <source>%1 sweeps a second</source>
        <translation>%1 balayages par seconde</translation>
    </message>
    <message>
        <source>not answering: %1</source>
        <translation>ne répondent pas : %1</translation>
    </message>
    <message>
        <source>read over UDS (no cell frames): %1</source>
        <translation>lus par UDS (pas de trames de cellules) : %1</translation>
    </message>
    <message>
        <source>Reading the pack…</source>
        <translation>Lecture du pack…</translation>
    </message>
    <message>
        <source>Starting the demo pack…</source>
        <translation>Démarrage du pack de démo…</translation>
    </message>
    <message>
        <source>A campaign is running.</source>
        <translation>Une campagne est en cours.</translation>
    </message>
    <message>
        <source>The pack is being rolled back.</source>
        <translation>Le pack revient en arrière.</translation>
    </message>
    <message numerus="yes">
        <source>%n node(s) answered.</source>
        <translation>
            <numerusform>%n nœud a répondu.</numerusform>
            <numerusform>%n nœuds ont répondu.</numerusform>
        </translation>
    </message>
</context>
<context>
    <name>PackSummaryWidget</name>
    <message>
        <source>Lowest cell</source>
        <translation>Cellule la plus basse</translation>
    </message>
    <message>
        <source>Highest cell</source>
        <translation>Cellule la plus haute</translation>
    </message>
    <message>
        <source>Average cell</source>
        <translation>Cellule moyenne</translation>
    </message>
    <message>
        <source>Spread (Δ)</source>
        <translation>Écart (Δ)</translation>
    </message>
    <message>
        <source>Pack voltage</source>
        <translation>Tension du pack</translation>
    </message>
    <message>
        <source>Current</source>
        <translation>Courant</translation>
    </message>
    <message>
        <source>State of charge</source>
        <translation>État de charge</translation>
    </message>
    <message>
        <source>State of health</source>
        <translation>État de santé</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Température</translation>
    </message>
    <message>
        <source>Balancing</source>
        <translation>Équilibrage</translation>
    </message>
    <message numerus="yes">
        <source>cell %n</source>
        <translation>
            <numerusform>cellule %n</numerusform>
            <numerusform>cellule %n</numerusform>
        </translation>
    </message>
    <message numerus="yes">
        <source>%n cell(s)</source>
        <translation>
            <numerusform>%n cellule</numerusform>
            <numerusform>%n cellules</numerusform>
        </translation>
    </message>
    <message>
        <source>update window 20–80 %</source>
        <translation>plage de mise à jour 20–80 %</translation>
    </message>
    <message numerus="yes">
        <source>%n sensor(s) failed</source>
        <translation>
            <numerusform>%n capteur en panne</numerusform>
            <numerusform>%n capteurs en panne</numerusform>
        </translation>
    </message>
    <message>
        <source>no working sensor</source>
        <translation>aucun capteur en état de marche</translation>
    </message>
    <message>
        <source>cells bleeding</source>
        <translation>cellules en décharge</translation>
    </message>
</context>
<context>
    <name>PackTree</name>
    <message>
        <source>BCU — pack controller</source>
        <translation>BCU — contrôleur du pack</translation>
    </message>
    <message>
        <source>BMC — module controllers</source>
        <translation>BMC — contrôleurs de module</translation>
    </message>
    <message>
        <source>BMU — cell monitors</source>
        <translation>BMU — surveillance des cellules</translation>
    </message>
    <message>
        <source>Node</source>
        <translation>Nœud</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modèle</translation>
    </message>
    <message>
        <source>Serial number</source>
        <translation>Numéro de série</translation>
    </message>
    <message>
        <source>Firmware</source>
        <translation>Micrologiciel</translation>
    </message>
    <message>
        <source>State</source>
        <translation>État</translation>
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
        <translation>Choisissez le paquet de micrologiciel</translation>
    </message>
    <message>
        <source>Only packages signed by a trusted manufacturer key can be installed.</source>
        <translation>Seuls les paquets signés par une clé de fabricant de confiance peuvent être installés.</translation>
    </message>
    <message>
        <source>Battery %1 (serial %2) runs firmware %3. Choose the package to install.</source>
        <translation>La batterie %1 (n° de série %2) exécute le micrologiciel %3. Choisissez le paquet à installer.</translation>
    </message>
    <message>
        <source>&amp;Package file:</source>
        <translation>Fichier du &amp;paquet :</translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation>&amp;Parcourir…</translation>
    </message>
    <message>
        <source>Packages &amp;available:</source>
        <translation>Paquets &amp;disponibles :</translation>
    </message>
    <message>
        <source>Packages are checked against these signing keys:</source>
        <translation>Les paquets sont vérifiés avec ces clés de signature :</translation>
    </message>
    <message>
        <source>Choose a firmware package</source>
        <translation>Choisissez un paquet de micrologiciel</translation>
    </message>
    <message>
        <source>Firmware packages (*.bmspkg)</source>
        <translation>Paquets de micrologiciel (*.bmspkg)</translation>
    </message>
</context>
<context>
    <name>ParameterTexts</name>
    <message>
        <source>Cell over-voltage limit</source>
        <translation>Seuil de surtension de cellule</translation>
    </message>
    <message>
        <source>Cell voltage above which charging stops.</source>
        <translation>Tension de cellule au-dessus de laquelle la charge s’arrête.</translation>
    </message>
    <message>
        <source>Cell under-voltage limit</source>
        <translation>Seuil de sous-tension de cellule</translation>
    </message>
    <message>
        <source>Cell voltage below which discharging stops.</source>
        <translation>Tension de cellule en dessous de laquelle la décharge s’arrête.</translation>
    </message>
    <message>
        <source>Over-temperature limit</source>
        <translation>Seuil de surchauffe</translation>
    </message>
    <message>
        <source>Temperature above which the pack disconnects.</source>
        <translation>Température au-dessus de laquelle le pack se déconnecte.</translation>
    </message>
    <message>
        <source>Under-temperature limit</source>
        <translation>Seuil de température basse</translation>
    </message>
    <message>
        <source>Temperature below which charging stops.</source>
        <translation>Température en dessous de laquelle la charge s’arrête.</translation>
    </message>
    <message>
        <source>Charge current limit</source>
        <translation>Limite du courant de charge</translation>
    </message>
    <message>
        <source>Largest charge current before an alarm.</source>
        <translation>Courant de charge maximal avant une alarme.</translation>
    </message>
    <message>
        <source>Discharge current limit</source>
        <translation>Limite du courant de décharge</translation>
    </message>
    <message>
        <source>Largest discharge current before an alarm.</source>
        <translation>Courant de décharge maximal avant une alarme.</translation>
    </message>
    <message>
        <source>Cell balancing</source>
        <translation>Équilibrage des cellules</translation>
    </message>
    <message>
        <source>Whether passive balancing runs.</source>
        <translation>Indique si l’équilibrage passif fonctionne.</translation>
    </message>
    <message>
        <source>Balancing start voltage</source>
        <translation>Tension de début d’équilibrage</translation>
    </message>
    <message>
        <source>Cells above this voltage may be balanced.</source>
        <translation>Les cellules au-dessus de cette tension peuvent être équilibrées.</translation>
    </message>
    <message>
        <source>Balancing threshold</source>
        <translation>Seuil d’équilibrage</translation>
    </message>
    <message>
        <source>Imbalance from the lowest cell that starts balancing.</source>
        <translation>Écart par rapport à la cellule la plus basse qui déclenche l’équilibrage.</translation>
    </message>
    <message>
        <source>Rated capacity</source>
        <translation>Capacité nominale</translation>
    </message>
    <message>
        <source>Rated capacity used for state-of-charge counting.</source>
        <translation>Capacité nominale utilisée pour le calcul de l’état de charge.</translation>
    </message>
    <message>
        <source>Voltage calibration gain</source>
        <translation>Gain d’étalonnage de la tension</translation>
    </message>
    <message>
        <source>Cell-voltage calibration gain.</source>
        <translation>Gain d’étalonnage de la tension des cellules.</translation>
    </message>
    <message>
        <source>Voltage calibration offset</source>
        <translation>Décalage d’étalonnage de la tension</translation>
    </message>
    <message>
        <source>Cell-voltage calibration offset.</source>
        <translation>Décalage d’étalonnage de la tension des cellules.</translation>
    </message>
    <message>
        <source>Current calibration gain</source>
        <translation>Gain d’étalonnage du courant</translation>
    </message>
    <message>
        <source>Current-sensor calibration gain.</source>
        <translation>Gain d’étalonnage du capteur de courant.</translation>
    </message>
    <message>
        <source>CAN bit rate</source>
        <translation>Débit CAN</translation>
    </message>
    <message>
        <source>CAN bus bit rate.</source>
        <translation>Débit binaire du bus CAN.</translation>
    </message>
    <message>
        <source>CAN node number</source>
        <translation>Numéro de nœud CAN</translation>
    </message>
    <message>
        <source>Node number on the CAN bus.</source>
        <translation>Numéro de nœud sur le bus CAN.</translation>
    </message>
    <message>
        <source>Serial baud rate</source>
        <translation>Débit série</translation>
    </message>
    <message>
        <source>Serial (USB/RS485) line rate.</source>
        <translation>Débit de la liaison série (USB/RS485).</translation>
    </message>
    <message>
        <source>Number of cells</source>
        <translation>Nombre de cellules</translation>
    </message>
    <message>
        <source>Series cells the BMS monitors.</source>
        <translation>Cellules en série surveillées par le BMS.</translation>
    </message>
    <message>
        <source>Serial number</source>
        <translation>Numéro de série</translation>
    </message>
    <message>
        <source>Serial number set at the factory.</source>
        <translation>Numéro de série défini en usine.</translation>
    </message>
    <message>
        <source>Hardware revision</source>
        <translation>Révision matérielle</translation>
    </message>
    <message>
        <source>Hardware revision set at the factory.</source>
        <translation>Révision matérielle définie en usine.</translation>
    </message>
    <message>
        <source>voltage calibration</source>
        <translation>étalonnage de la tension</translation>
    </message>
    <message>
        <source>temperature sensors</source>
        <translation>capteurs de température</translation>
    </message>
    <message>
        <source>balancing circuit</source>
        <translation>circuit d’équilibrage</translation>
    </message>
    <message>
        <source>firmware integrity</source>
        <translation>intégrité du micrologiciel</translation>
    </message>
    <message>
        <source>reference voltage</source>
        <translation>tension de référence</translation>
    </message>
    <message>
        <source>communication</source>
        <translation>communication</translation>
    </message>
    <message>
        <source>Battery self-test: %1</source>
        <translation>Autotest de la batterie : %1</translation>
    </message>
</context>
<context>
    <name>PreconditionsPage</name>
    <message>
        <source>Preconditions</source>
        <translation>Conditions préalables</translation>
    </message>
    <message>
        <source>Charge, temperature, load, stability and link are measured now; nothing is written yet.</source>
        <translation>La charge, la température, la charge connectée, la stabilité et la liaison sont mesurées maintenant ; rien n’est encore écrit.</translation>
    </message>
    <message>
        <source>&amp;Start update</source>
        <translation>&amp;Démarrer la mise à jour</translation>
    </message>
    <message>
        <source>Overrides (recorded in the service history)</source>
        <translation>Dérogations (consignées dans l’historique d’intervention)</translation>
    </message>
    <message>
        <source>&amp;Technician:</source>
        <translation>&amp;Technicien :</translation>
    </message>
    <message>
        <source>your name, for the service report</source>
        <translation>votre nom, pour le rapport d’intervention</translation>
    </message>
    <message>
        <source>&amp;Measure again</source>
        <translation>&amp;Mesurer à nouveau</translation>
    </message>
    <message>
        <source>Measuring the battery (a few seconds)…</source>
        <translation>Mesure de la batterie (quelques secondes)…</translation>
    </message>
    <message>
        <source>The battery could not be measured: %1</source>
        <translation>La batterie n’a pas pu être mesurée : %1</translation>
    </message>
    <message>
        <source>Override %1</source>
        <translation>Forcer %1</translation>
    </message>
    <message>
        <source>reason (required)</source>
        <translation>motif (obligatoire)</translation>
    </message>
    <message>
        <source>The update is refused: %1 outside the safe range.</source>
        <translation>La mise à jour est refusée : %1 hors de la plage sûre.</translation>
    </message>
    <message>
        <source>What to check: %1</source>
        <translation>À vérifier : %1</translation>
    </message>
    <message>
        <source>What to do: %1</source>
        <translation>Que faire : %1</translation>
    </message>
    <message>
        <source>Some quality checks failed. Override them with a reason, or fix them and measure again.</source>
        <translation>Certains contrôles de qualité ont échoué. Forcez-les en indiquant un motif, ou corrigez-les et mesurez à nouveau.</translation>
    </message>
    <message>
        <source>Every precondition is met. Press Start update to begin.</source>
        <translation>Toutes les conditions préalables sont remplies. Appuyez sur Démarrer la mise à jour pour commencer.</translation>
    </message>
</context>
<context>
    <name>RebootPage</name>
    <message>
        <source>Reboot</source>
        <translation>Redémarrage</translation>
    </message>
    <message>
        <source>The bootloader checks the new image&apos;s signature and starts it once, on trial.</source>
        <translation>Le chargeur d’amorçage vérifie la signature de la nouvelle image et la démarre une fois, à l’essai.</translation>
    </message>
    <message>
        <source>Protection circuits go down and come back with the new firmware. If it does not start, the bootloader returns to the old firmware by itself.</source>
        <translation>Les circuits de protection s’arrêtent puis redémarrent avec le nouveau micrologiciel. S’il ne démarre pas, le chargeur d’amorçage revient de lui-même à l’ancien.</translation>
    </message>
</context>
<context>
    <name>RecoveryDialog</name>
    <message>
        <source>Emergency recovery</source>
        <translation>Récupération d’urgence</translation>
    </message>
    <message>
        <source>The battery on %1 has no bootable firmware.</source>
        <translation>La batterie sur %1 n’a aucun micrologiciel amorçable.</translation>
    </message>
    <message>
        <source>the last stable package (.bmspkg)</source>
        <translation>le dernier paquet stable (.bmspkg)</translation>
    </message>
    <message>
        <source>&amp;Browse…</source>
        <translation>&amp;Parcourir…</translation>
    </message>
    <message>
        <source>If the battery cannot tell its model and hardware revision in recovery, type them from the label on the unit; the package is checked against them and they are recorded.</source>
        <translation>Si la batterie ne peut pas indiquer son modèle et sa révision matérielle en récupération, saisissez-les d’après l’étiquette de l’appareil ; le paquet est vérifié par rapport à eux et ils sont enregistrés.</translation>
    </message>
    <message>
        <source>model on the label, e.g. VBMS-16</source>
        <translation>modèle sur l’étiquette, p. ex. VBMS-16</translation>
    </message>
    <message>
        <source>hardware revision</source>
        <translation>révision matérielle</translation>
    </message>
    <message>
        <source>&amp;Recover</source>
        <translation>&amp;Récupérer</translation>
    </message>
    <message>
        <source>Choose the last stable package</source>
        <translation>Choisissez le dernier paquet stable</translation>
    </message>
    <message>
        <source>Firmware packages (*.bmspkg)</source>
        <translation>Paquets de micrologiciel (*.bmspkg)</translation>
    </message>
    <message>
        <source>Choose an existing package file first.</source>
        <translation>Choisissez d’abord un fichier de paquet existant.</translation>
    </message>
    <message>
        <source>Recovering…</source>
        <translation>Récupération en cours…</translation>
    </message>
    <message>
        <source>Recovered: the battery runs firmware %1 again.</source>
        <translation>Récupérée : la batterie exécute de nouveau le micrologiciel %1.</translation>
    </message>
</context>
<context>
    <name>ResultPage</name>
    <message>
        <source>Result</source>
        <translation>Résultat</translation>
    </message>
    <message>
        <source>Troubleshooting</source>
        <translation>Dépannage</translation>
    </message>
    <message>
        <source>&amp;Roll back</source>
        <translation>&amp;Revenir en arrière</translation>
    </message>
    <message>
        <source>Restore &amp;config</source>
        <translation>Restaurer la &amp;configuration</translation>
    </message>
    <message>
        <source>Write the configuration backed up before this update.</source>
        <translation>Réécrire la configuration sauvegardée avant cette mise à jour.</translation>
    </message>
    <message>
        <source>&amp;Save service report…</source>
        <translation>Enregistrer le rapport d’i&amp;ntervention…</translation>
    </message>
    <message>
        <source>Hide the &amp;log</source>
        <translation>Masquer le &amp;journal</translation>
    </message>
    <message>
        <source>Show the &amp;log</source>
        <translation>Afficher le &amp;journal</translation>
    </message>
    <message>
        <source>Firmware updated to %1.</source>
        <translation>Micrologiciel mis à jour en %1.</translation>
    </message>
    <message>
        <source>The new firmware failed its checks: the battery is back on %1.</source>
        <translation>Le nouveau micrologiciel a échoué aux contrôles : la batterie est revenue à %1.</translation>
    </message>
    <message>
        <source>The update was refused before anything was written.</source>
        <translation>La mise à jour a été refusée avant toute écriture.</translation>
    </message>
    <message>
        <source>The update was cancelled before anything was written.</source>
        <translation>La mise à jour a été annulée avant toute écriture.</translation>
    </message>
    <message>
        <source>The update failed.</source>
        <translation>La mise à jour a échoué.</translation>
    </message>
    <message>
        <source>Step that stopped: %1</source>
        <translation>Étape arrêtée : %1</translation>
    </message>
    <message>
        <source>The battery now runs firmware %1.</source>
        <translation>La batterie exécute maintenant le micrologiciel %1.</translation>
    </message>
    <message>
        <source>What to check: %1</source>
        <translation>À vérifier : %1</translation>
    </message>
    <message>
        <source>What to do: %1</source>
        <translation>Que faire : %1</translation>
    </message>
    <message>
        <source>Rolling back: the battery reboots into its other firmware…</source>
        <translation>Retour arrière : la batterie redémarre sur son autre micrologiciel…</translation>
    </message>
    <message>
        <source>Rolled back: the battery runs firmware %1.</source>
        <translation>Retour arrière effectué : la batterie exécute le micrologiciel %1.</translation>
    </message>
    <message>
        <source>Nothing was rolled back: %1</source>
        <translation>Aucun retour arrière n’a été effectué : %1</translation>
    </message>
    <message>
        <source>Restoring the configuration backup…</source>
        <translation>Restauration de la sauvegarde de configuration…</translation>
    </message>
    <message>
        <source>The configuration backup was restored.</source>
        <translation>La sauvegarde de configuration a été restaurée.</translation>
    </message>
    <message>
        <source>Save service report</source>
        <translation>Enregistrer le rapport d’intervention</translation>
    </message>
    <message>
        <source>Service reports (*.html *.pdf)</source>
        <translation>Rapports d’intervention (*.html *.pdf)</translation>
    </message>
    <message>
        <source>Service report saved to %1.</source>
        <translation>Rapport d’intervention enregistré dans %1.</translation>
    </message>
</context>
<context>
    <name>SelfTestPage</name>
    <message>
        <source>Self-test</source>
        <translation>Autotest</translation>
    </message>
    <message>
        <source>Calibration (±0.5 %), temperature sensors, communication speed, balancing, fault codes.</source>
        <translation>Étalonnage (±0,5 %), capteurs de température, vitesse de communication, équilibrage, codes défaut.</translation>
    </message>
    <message>
        <source>If any check fails, the previous firmware and configuration are restored automatically.</source>
        <translation>Si un contrôle échoue, le micrologiciel et la configuration précédents sont restaurés automatiquement.</translation>
    </message>
</context>
<context>
    <name>Texts</name>
    <message>
        <source>application</source>
        <translation>application</translation>
    </message>
    <message>
        <source>bootloader</source>
        <translation>chargeur d’amorçage</translation>
    </message>
    <message>
        <source>RECOVERY</source>
        <translation>RÉCUPÉRATION</translation>
    </message>
    <message>
        <source>Cell over-voltage</source>
        <translation>Surtension de cellule</translation>
    </message>
    <message>
        <source>Cell under-voltage</source>
        <translation>Sous-tension de cellule</translation>
    </message>
    <message>
        <source>Over-temperature</source>
        <translation>Surchauffe</translation>
    </message>
    <message>
        <source>Under-temperature</source>
        <translation>Température trop basse</translation>
    </message>
    <message>
        <source>Over-current</source>
        <translation>Surintensité</translation>
    </message>
    <message>
        <source>Temperature sensor fault</source>
        <translation>Défaut de capteur de température</translation>
    </message>
    <message>
        <source>info</source>
        <translation>info</translation>
    </message>
    <message>
        <source>warning</source>
        <translation>avertissement</translation>
    </message>
    <message>
        <source>critical</source>
        <translation>critique</translation>
    </message>
    <message>
        <source>interrupted</source>
        <translation>interrompue</translation>
    </message>
    <message>
        <source>updated</source>
        <translation>mise à jour</translation>
    </message>
    <message>
        <source>refused by a precondition</source>
        <translation>refusée par une condition préalable</translation>
    </message>
    <message>
        <source>rolled back</source>
        <translation>revenue en arrière</translation>
    </message>
    <message>
        <source>failed</source>
        <translation>échouée</translation>
    </message>
    <message>
        <source>Signature</source>
        <translation>Signature</translation>
    </message>
    <message>
        <source>Image hash</source>
        <translation>Empreinte de l’image</translation>
    </message>
    <message>
        <source>Expiry date</source>
        <translation>Date d’expiration</translation>
    </message>
    <message>
        <source>Model</source>
        <translation>Modèle</translation>
    </message>
    <message>
        <source>Hardware revision</source>
        <translation>Révision matérielle</translation>
    </message>
    <message>
        <source>Device mode</source>
        <translation>Mode de l’appareil</translation>
    </message>
    <message>
        <source>Bootloader version</source>
        <translation>Version du chargeur d’amorçage</translation>
    </message>
    <message>
        <source>Anti-rollback counter</source>
        <translation>Compteur anti-retour</translation>
    </message>
    <message>
        <source>Signing key</source>
        <translation>Clé de signature</translation>
    </message>
    <message>
        <source>State of charge</source>
        <translation>État de charge</translation>
    </message>
    <message>
        <source>Temperature</source>
        <translation>Température</translation>
    </message>
    <message>
        <source>Load current</source>
        <translation>Courant de charge connectée</translation>
    </message>
    <message>
        <source>Critical trouble codes</source>
        <translation>Codes défaut critiques</translation>
    </message>
    <message>
        <source>Cell voltage stability</source>
        <translation>Stabilité de la tension des cellules</translation>
    </message>
    <message>
        <source>Supply stability</source>
        <translation>Stabilité de l’alimentation</translation>
    </message>
    <message>
        <source>Link quality</source>
        <translation>Qualité de la liaison</translation>
    </message>
    <message>
        <source>Voltage calibration</source>
        <translation>Étalonnage de la tension</translation>
    </message>
    <message>
        <source>Reference voltage</source>
        <translation>Tension de référence</translation>
    </message>
    <message>
        <source>Temperature sensors</source>
        <translation>Capteurs de température</translation>
    </message>
    <message>
        <source>Communication speed</source>
        <translation>Vitesse de communication</translation>
    </message>
    <message>
        <source>Cell balancing</source>
        <translation>Équilibrage des cellules</translation>
    </message>
    <message>
        <source>New trouble codes</source>
        <translation>Nouveaux codes défaut</translation>
    </message>
    <message>
        <source>Connect a battery first.</source>
        <translation>Connectez d’abord une batterie.</translation>
    </message>
    <message>
        <source>Roll back returns to firmware %1 in slot 1; the battery reboots into it.</source>
        <translation>Revenir en arrière rétablit le micrologiciel %1 de l’emplacement 1 ; la batterie redémarre dessus.</translation>
    </message>
    <message>
        <source>Roll back is not possible: the battery is in %1 mode, not running its firmware.</source>
        <translation>Le retour arrière est impossible : la batterie est en mode %1 et n’exécute pas son micrologiciel.</translation>
    </message>
    <message>
        <source>Roll back is not possible: slot 1 is empty, there is no other firmware.</source>
        <translation>Le retour arrière est impossible : l’emplacement 1 est vide, il n’y a pas d’autre micrologiciel.</translation>
    </message>
    <message>
        <source>Roll back is not possible: the bootloader refuses firmware %1 in slot 1 (anti-rollback: its security counter is below the battery&apos;s, %2; or the image is damaged).</source>
        <translation>Le retour arrière est impossible : le chargeur d’amorçage refuse le micrologiciel %1 de l’emplacement 1 (anti-rollback : son compteur de sécurité est inférieur à celui de la batterie, %2 ; ou l’image est endommagée).</translation>
    </message>
    <message>
        <source>Roll back is not possible: slot 1 holds %1, newer than the running %2 and never confirmed (an update that failed); a rollback only returns to older firmware.</source>
        <translation>Le retour arrière est impossible : l’emplacement 1 contient %1, plus récent que le %2 en cours et jamais confirmé (une mise à jour qui a échoué) ; un retour arrière ne ramène qu’à un micrologiciel plus ancien.</translation>
    </message>
    <message>
        <source>Verify the package</source>
        <translation>Vérifier le paquet</translation>
    </message>
    <message>
        <source>Identify the battery</source>
        <translation>Identifier la batterie</translation>
    </message>
    <message>
        <source>Check the preconditions</source>
        <translation>Vérifier les conditions préalables</translation>
    </message>
    <message>
        <source>Back up the configuration</source>
        <translation>Sauvegarder la configuration</translation>
    </message>
    <message>
        <source>Transfer the firmware</source>
        <translation>Transférer le micrologiciel</translation>
    </message>
    <message>
        <source>Reboot into the new firmware</source>
        <translation>Redémarrer sur le nouveau micrologiciel</translation>
    </message>
    <message>
        <source>Run the self-test</source>
        <translation>Exécuter l’autotest</translation>
    </message>
    <message>
        <source>Confirm the new firmware</source>
        <translation>Confirmer le nouveau micrologiciel</translation>
    </message>
    <message>
        <source>Check the configuration</source>
        <translation>Vérifier la configuration</translation>
    </message>
    <message>
        <source>Roll back to the previous firmware</source>
        <translation>Revenir au micrologiciel précédent</translation>
    </message>
    <message>
        <source>Restore the configuration</source>
        <translation>Restaurer la configuration</translation>
    </message>
    <message>
        <source>battery found</source>
        <translation>batterie trouvée</translation>
    </message>
    <message>
        <source>nothing answered</source>
        <translation>aucune réponse</translation>
    </message>
    <message>
        <source>answers garbage</source>
        <translation>répond des données incohérentes</translation>
    </message>
    <message>
        <source>busy (used by another program)</source>
        <translation>occupé (utilisé par un autre programme)</translation>
    </message>
    <message>
        <source>permission denied</source>
        <translation>autorisation refusée</translation>
    </message>
    <message>
        <source>driver missing</source>
        <translation>pilote manquant</translation>
    </message>
    <message>
        <source>not found</source>
        <translation>introuvable</translation>
    </message>
    <message>
        <source>scan time ran out</source>
        <translation>temps de recherche écoulé</translation>
    </message>
    <message>
        <source>error</source>
        <translation>erreur</translation>
    </message>
    <message>
        <source>update</source>
        <translation>mise à jour</translation>
    </message>
    <message>
        <source>rollback</source>
        <translation>retour arrière</translation>
    </message>
    <message>
        <source>recovery</source>
        <translation>récupération</translation>
    </message>
    <message>
        <source>restore</source>
        <translation>restauration</translation>
    </message>
    <message>
        <source>backup</source>
        <translation>sauvegarde</translation>
    </message>
</context>
<context>
    <name>TransferPage</name>
    <message>
        <source>Firmware transfer</source>
        <translation>Transfert du micrologiciel</translation>
    </message>
    <message>
        <source>The new firmware is written to the spare slot; the battery keeps running the old one.</source>
        <translation>Le nouveau micrologiciel est écrit dans l’emplacement de réserve ; la batterie continue d’exécuter l’ancien.</translation>
    </message>
    <message>
        <source>If the cable is pulled, plug it back in and start the update again: it resumes.</source>
        <translation>Si le câble est débranché, rebranchez-le et relancez la mise à jour : elle reprend où elle s’était arrêtée.</translation>
    </message>
    <message>
        <source>Sent: %1</source>
        <translation>Envoyé : %1</translation>
    </message>
    <message>
        <source>Throughput: %1</source>
        <translation>Débit : %1</translation>
    </message>
    <message>
        <source>Time left: %1</source>
        <translation>Temps restant : %1</translation>
    </message>
    <message>
        <source>Sent: %1 of %2 KiB</source>
        <translation>Envoyé : %1 sur %2 Kio</translation>
    </message>
</context>
<context>
    <name>Troubleshooting</name>
    <message>
        <source>Authentication rejection</source>
        <translation>Rejet de l’authentification</translation>
    </message>
    <message>
        <source>Verify the digital certificate chain: the package must be signed by a key in the trusted keyring and the device must accept the tool&apos;s security key.</source>
        <translation>Vérifiez la chaîne de certificats numériques : le paquet doit être signé par une clé du trousseau de confiance et l’appareil doit accepter la clé de sécurité de l’outil.</translation>
    </message>
    <message>
        <source>Re-download the firmware from a trusted source.</source>
        <translation>Téléchargez de nouveau le micrologiciel depuis une source de confiance.</translation>
    </message>
    <message>
        <source>Technician not authenticated</source>
        <translation>Technicien non authentifié</translation>
    </message>
    <message>
        <source>The device accepts writes only from an authenticated technician: check that your technician certificate and key are in your credentials folder (or named with --technician), issued by the vendor CA this device trusts, valid today and not revoked.</source>
        <translation>L&apos;appareil n&apos;accepte d&apos;écritures que d&apos;un technicien authentifié : vérifiez que votre certificat de technicien et sa clé se trouvent dans votre dossier d&apos;identifiants (ou sont indiqués avec --technician), émis par l&apos;AC du fabricant à laquelle cet appareil fait confiance, valides aujourd&apos;hui et non révoqués.</translation>
    </message>
    <message>
        <source>Install a valid technician certificate from your vendor, then run the update again; nothing was written to the battery without it.</source>
        <translation>Installez un certificat de technicien valide fourni par votre fabricant, puis relancez la mise à jour ; rien n&apos;a été écrit dans la batterie sans lui.</translation>
    </message>
    <message>
        <source>Boot loop after the update</source>
        <translation>Boucle de démarrage après la mise à jour</translation>
    </message>
    <message>
        <source>Check the hardware compatibility matrix: the firmware must be released for this model and hardware revision.</source>
        <translation>Vérifiez la matrice de compatibilité matérielle : le micrologiciel doit être publié pour ce modèle et cette révision matérielle.</translation>
    </message>
    <message>
        <source>Roll back to the last stable version.</source>
        <translation>Revenez à la dernière version stable.</translation>
    </message>
    <message>
        <source>Data transfer timeout</source>
        <translation>Délai dépassé lors du transfert de données</translation>
    </message>
    <message>
        <source>Test the baud rate alignment between the tool and the device (or the CAN bitrate), and look for worn RS485/CAN cables or loose USB plugs.</source>
        <translation>Vérifiez la concordance du débit en bauds entre l’outil et l’appareil (ou du débit CAN) et recherchez des câbles RS485/CAN usés ou des prises USB mal enfoncées.</translation>
    </message>
    <message>
        <source>Replace the communication cables, then run the update again: it resumes where it stopped.</source>
        <translation>Remplacez les câbles de communication, puis relancez la mise à jour : elle reprend où elle s’était arrêtée.</translation>
    </message>
    <message>
        <source>Self-test failed after the update</source>
        <translation>Échec de l’autotest après la mise à jour</translation>
    </message>
    <message>
        <source>Read which check failed (calibration, temperature sensors, balancing, communication, new fault codes) and compare with the release notes.</source>
        <translation>Lisez quel contrôle a échoué (étalonnage, capteurs de température, équilibrage, communication, nouveaux codes défaut) et comparez avec les notes de version.</translation>
    </message>
    <message>
        <source>The tool rolled back to the previous firmware; report the failed check to the manufacturer before trying this release again.</source>
        <translation>L’outil est revenu au micrologiciel précédent ; signalez le contrôle en échec au fabricant avant de réessayer cette version.</translation>
    </message>
    <message>
        <source>Device stays in recovery mode</source>
        <translation>L’appareil reste en mode de récupération</translation>
    </message>
    <message>
        <source>No bootable firmware is left on the device; check the supply voltage and the cable to the recovery port.</source>
        <translation>Il ne reste aucun micrologiciel amorçable sur l’appareil ; vérifiez la tension d’alimentation et le câble vers le port de récupération.</translation>
    </message>
    <message>
        <source>Flash the last stable version locally in recovery mode before attempting another update.</source>
        <translation>Flashez localement la dernière version stable en mode de récupération avant de tenter une autre mise à jour.</translation>
    </message>
    <message>
        <source>Update refused by a precondition</source>
        <translation>Mise à jour refusée par une condition préalable</translation>
    </message>
    <message>
        <source>Read the failed gate, its measured value and its limit: charge 20–80 %, temperature 0–45 °C, no load, stable supply.</source>
        <translation>Lisez la condition en échec, sa valeur mesurée et sa limite : charge 20–80 %, température 0–45 °C, aucune charge connectée, alimentation stable.</translation>
    </message>
    <message>
        <source>Bring the battery into range (charge or discharge, let it cool or warm, disconnect loads), then start again.</source>
        <translation>Ramenez la batterie dans la plage (chargez ou déchargez-la, laissez-la refroidir ou se réchauffer, déconnectez les charges), puis recommencez.</translation>
    </message>
    <message>
        <source>Port or adapter not found</source>
        <translation>Port ou adaptateur introuvable</translation>
    </message>
    <message>
        <source>The named port or adapter does not exist: check its name against the adapters the scan lists, and that the adapter is plugged in and powered.</source>
        <translation>Le port ou l&apos;adaptateur indiqué n&apos;existe pas : comparez son nom avec les adaptateurs listés par la recherche et vérifiez que l&apos;adaptateur est branché et alimenté.</translation>
    </message>
    <message>
        <source>Plug the adapter in or correct the port name, then start again; nothing was written to the battery.</source>
        <translation>Branchez l&apos;adaptateur ou corrigez le nom du port, puis recommencez ; rien n&apos;a été écrit dans la batterie.</translation>
    </message>
    <message>
        <source>Port in use by another program</source>
        <translation>Port utilisé par un autre programme</translation>
    </message>
    <message>
        <source>Another program (a terminal, a second copy of this tool, a vendor tool) holds the port or adapter.</source>
        <translation>Un autre programme (un terminal, une deuxième instance de cet outil, un outil du fabricant) occupe le port ou l&apos;adaptateur.</translation>
    </message>
    <message>
        <source>Close the other program or choose another adapter, then start again; nothing was written to the battery.</source>
        <translation>Fermez l&apos;autre programme ou choisissez un autre adaptateur, puis recommencez ; rien n&apos;a été écrit dans la batterie.</translation>
    </message>
    <message>
        <source>No permission to open the port</source>
        <translation>Pas d&apos;autorisation d&apos;ouvrir le port</translation>
    </message>
    <message>
        <source>The operating system refused access to the port: on Linux the user must be in the dialout group or the udev rules shipped with the tool must be installed.</source>
        <translation>Le système d&apos;exploitation refuse l&apos;accès au port : sous Linux, l&apos;utilisateur doit faire partie du groupe dialout ou les règles udev fournies avec l&apos;outil doivent être installées.</translation>
    </message>
    <message>
        <source>Grant access (log out and in again after joining the group), then start again; nothing was written to the battery.</source>
        <translation>Accordez l&apos;accès (déconnectez-vous puis reconnectez-vous après l&apos;ajout au groupe), puis recommencez ; rien n&apos;a été écrit dans la batterie.</translation>
    </message>
    <message>
        <source>The port is not a usable adapter</source>
        <translation>Le port n&apos;est pas un adaptateur utilisable</translation>
    </message>
    <message>
        <source>The named port or CAN interface cannot be driven as a serial adapter or CAN interface (for example a file such as /dev/null, or an interface name the CAN library does not know).</source>
        <translation>Le port ou l&apos;interface CAN indiqué ne peut pas être piloté comme adaptateur série ou interface CAN (par exemple un fichier comme /dev/null, ou un nom d&apos;interface inconnu de la bibliothèque CAN).</translation>
    </message>
    <message>
        <source>Choose the port of the USB, RS485 or CAN adapter the battery is connected to, then start again.</source>
        <translation>Choisissez le port de l&apos;adaptateur USB, RS485 ou CAN auquel la batterie est reliée, puis recommencez.</translation>
    </message>
    <message>
        <source>An option or file is not valid</source>
        <translation>Une option ou un fichier n&apos;est pas valide</translation>
    </message>
    <message>
        <source>An option, file or value given to the tool is not valid; the message names it.</source>
        <translation>Une option, un fichier ou une valeur donné à l&apos;outil n&apos;est pas valide ; le message l&apos;indique.</translation>
    </message>
    <message>
        <source>Correct the named option or file, then start again; nothing was written to the battery.</source>
        <translation>Corrigez l&apos;option ou le fichier indiqué, puis recommencez ; rien n&apos;a été écrit dans la batterie.</translation>
    </message>
    <message>
        <source>Connection lost during the operation</source>
        <translation>Connexion perdue pendant l&apos;opération</translation>
    </message>
    <message>
        <source>The cable or adapter disconnected while the tool was talking to the battery: a pulled USB plug, a loose RS485 or CAN connector, or a laptop going to sleep.</source>
        <translation>Le câble ou l&apos;adaptateur s&apos;est déconnecté pendant que l&apos;outil communiquait avec la batterie : une prise USB arrachée, un connecteur RS485 ou CAN desserré, ou un ordinateur portable passé en veille.</translation>
    </message>
    <message>
        <source>Reconnect the cable and run the update again: it resumes where it stopped.</source>
        <translation>Rebranchez le câble et relancez la mise à jour : elle reprend là où elle s&apos;est arrêtée.</translation>
    </message>
    <message>
        <source>Package damaged or altered</source>
        <translation>Paquet endommagé ou modifié</translation>
    </message>
    <message>
        <source>The package failed an integrity check (format, size, hash or expiry) before anything was written to the battery.</source>
        <translation>Le paquet a échoué à un contrôle d&apos;intégrité (format, taille, empreinte ou date d&apos;expiration) avant que quoi que ce soit ne soit écrit dans la batterie.</translation>
    </message>
    <message>
        <source>Download the package again from the manufacturer; never use a copy that fails this check.</source>
        <translation>Téléchargez à nouveau le paquet auprès du fabricant ; n&apos;utilisez jamais une copie qui échoue à ce contrôle.</translation>
    </message>
    <message>
        <source>Package not made for this battery</source>
        <translation>Paquet non destiné à cette batterie</translation>
    </message>
    <message>
        <source>The package&apos;s model, hardware revisions or minimum bootloader do not match the device; the failed check names which.</source>
        <translation>Le modèle, les révisions matérielles ou le chargeur d&apos;amorçage minimal du paquet ne correspondent pas à l&apos;appareil ; le contrôle échoué indique lequel.</translation>
    </message>
    <message>
        <source>Use the release built for this model and hardware revision; nothing was written to the battery.</source>
        <translation>Utilisez la version construite pour ce modèle et cette révision matérielle ; rien n&apos;a été écrit dans la batterie.</translation>
    </message>
    <message>
        <source>Downgrade blocked by anti-rollback</source>
        <translation>Retour en arrière bloqué par l&apos;anti-rollback</translation>
    </message>
    <message>
        <source>The package&apos;s security counter is below the device&apos;s: the battery has accepted a newer security fix and refuses older firmware.</source>
        <translation>Le compteur de sécurité du paquet est inférieur à celui de l&apos;appareil : la batterie a accepté un correctif de sécurité plus récent et refuse un micrologiciel plus ancien.</translation>
    </message>
    <message>
        <source>Install the current release or a newer one; older releases can no longer be installed on this battery.</source>
        <translation>Installez la version actuelle ou une plus récente ; les versions plus anciennes ne peuvent plus être installées sur cette batterie.</translation>
    </message>
    <message>
        <source>The device refused or answered garbage</source>
        <translation>L&apos;appareil a refusé ou répondu n&apos;importe quoi</translation>
    </message>
    <message>
        <source>The device rejected a request or gave an answer its protocol does not allow: firmware that does not support this operation, or noise on the line.</source>
        <translation>L&apos;appareil a rejeté une requête ou donné une réponse que son protocole n&apos;autorise pas : un micrologiciel qui ne prend pas en charge cette opération, ou du bruit sur la ligne.</translation>
    </message>
    <message>
        <source>Check that the device&apos;s firmware supports this tool and look at the cabling, then try again.</source>
        <translation>Vérifiez que le micrologiciel de l&apos;appareil prend en charge cet outil et contrôlez le câblage, puis réessayez.</translation>
    </message>
    <message>
        <source>Cannot write the service record or journal</source>
        <translation>Impossible d&apos;écrire le dossier de service ou le journal</translation>
    </message>
    <message>
        <source>The disk is full, or the history database or the journal folder is not writable.</source>
        <translation>Le disque est plein, ou la base d&apos;historique ou le dossier du journal n&apos;est pas accessible en écriture.</translation>
    </message>
    <message>
        <source>Free disk space or fix the folder&apos;s permissions, then run the same operation again.</source>
        <translation>Libérez de l&apos;espace disque ou corrigez les droits du dossier, puis relancez la même opération.</translation>
    </message>
</context>
<context>
    <name>UpdatePage</name>
    <message>
        <source>Firmware update</source>
        <translation>Mise à jour du micrologiciel</translation>
    </message>
    <message>
        <source>The wizard checks the package&apos;s signature and compatibility, measures the preconditions (charge 20–80 %, temperature 0–45 °C, no load), backs up the configuration, transfers the firmware to the spare slot, reboots, runs the self-test and confirms — or rolls back by itself. Nothing is left half-done.</source>
        <translation>L’assistant vérifie la signature et la compatibilité du paquet, mesure les conditions préalables (charge 20–80 %, température 0–45 °C, aucune charge connectée), sauvegarde la configuration, transfère le micrologiciel dans l’emplacement de réserve, redémarre, exécute l’autotest et confirme — ou revient en arrière de lui-même. Rien n’est laissé à moitié fait.</translation>
    </message>
    <message>
        <source>The battery now</source>
        <translation>La batterie maintenant</translation>
    </message>
    <message>
        <source>&amp;Update firmware… (Ctrl+U)</source>
        <translation>&amp;Mettre à jour le micrologiciel… (Ctrl+U)</translation>
    </message>
    <message>
        <source>Roll &amp;back to the other slot</source>
        <translation>&amp;Revenir à l’autre emplacement</translation>
    </message>
    <message>
        <source>Nothing was rolled back: %1</source>
        <translation>Aucun retour arrière n’a été effectué : %1</translation>
    </message>
    <message>
        <source>Package %1 is ready to install: connect a battery, then open the update wizard.</source>
        <translation>Le paquet %1 est prêt à être installé : connectez une batterie, puis ouvrez l’assistant de mise à jour.</translation>
    </message>
    <message>
        <source>Rolling back: the battery reboots into its other firmware…</source>
        <translation>Retour arrière : la batterie redémarre sur son autre micrologiciel…</translation>
    </message>
    <message>
        <source>Rolled back: the battery runs firmware %1.</source>
        <translation>Retour arrière effectué : la batterie exécute le micrologiciel %1.</translation>
    </message>
</context>
<context>
    <name>UpdateWizard</name>
    <message>
        <source>Firmware update</source>
        <translation>Mise à jour du micrologiciel</translation>
    </message>
</context>
<context>
    <name>VerifyPage</name>
    <message>
        <source>Signature and compatibility</source>
        <translation>Signature et compatibilité</translation>
    </message>
    <message>
        <source>The package is checked on this computer before the battery is touched.</source>
        <translation>Le paquet est vérifié sur cet ordinateur avant que la batterie ne soit touchée.</translation>
    </message>
    <message>
        <source>Firmware version:</source>
        <translation>Version du micrologiciel :</translation>
    </message>
    <message>
        <source>Released for:</source>
        <translation>Publié pour :</translation>
    </message>
    <message>
        <source>Security counter:</source>
        <translation>Compteur de sécurité :</translation>
    </message>
    <message>
        <source>Signed by:</source>
        <translation>Signé par :</translation>
    </message>
    <message>
        <source>Release notes:</source>
        <translation>Notes de version :</translation>
    </message>
    <message>
        <source>Checking the package…</source>
        <translation>Vérification du paquet…</translation>
    </message>
    <message>
        <source>The package cannot be checked: %1</source>
        <translation>Le paquet ne peut pas être vérifié : %1</translation>
    </message>
    <message>
        <source>%1 is %2 (needs %3)</source>
        <translation>%1 vaut %2 (requis : %3)</translation>
    </message>
    <message>
        <source>The package is genuine and made for this battery.</source>
        <translation>Le paquet est authentique et conçu pour cette batterie.</translation>
    </message>
    <message>
        <source>This package must not be installed: %1</source>
        <translation>Ce paquet ne doit pas être installé : %1</translation>
    </message>
    <message>
        <source>What to check: %1</source>
        <translation>À vérifier : %1</translation>
    </message>
    <message>
        <source>What to do: %1</source>
        <translation>Que faire : %1</translation>
    </message>
</context>
</TS>
